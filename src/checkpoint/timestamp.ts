import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/**
 * RFC 3161 time-stamps of checkpoints: a third party (the TSA) attests that the checkpoint note
 * existed at a time, independently of the operator's clock and key. The token is stored beside the
 * note (`….note.tsr`, the DER TimeStampResp) and checked with `openssl ts -verify` by examiners.
 */
const SHA256_OID = '2.16.840.1.101.3.4.2.1';

export class TimestampError extends Error {
  override name = 'TimestampError';
}

export function buildTimestampRequest(data: Buffer, nonce: Buffer): Buffer {
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256_OID }),
      hashedMessage: new asn1js.OctetString({ valueHex: createHash('sha256').update(data).digest() }),
    }),
    nonce: new asn1js.Integer({ valueHex: nonce }),
    certReq: true,
  });
  return Buffer.from(req.toSchema().toBER(false));
}

/**
 * Parse a TimeStampResp and check that it was granted and time-stamps exactly `data` (SHA-256
 * imprint), with `nonce` when given. Does not check the TSA's signature chain: that needs the
 * TSA's CA certificate, which the examiner supplies (`openssl ts -verify -CAfile`).
 */
export function checkTimestamp(resp: Buffer, data: Buffer, nonce?: Buffer): { genTime: Date } {
  let parsed: pkijs.TimeStampResp;
  try {
    parsed = pkijs.TimeStampResp.fromBER(new Uint8Array(resp));
  } catch (e) {
    throw new TimestampError(`not an RFC 3161 TimeStampResp: ${(e as Error).message}`);
  }
  if (parsed.status.status > 1 || !parsed.timeStampToken) {
    throw new TimestampError(`the TSA refused: status ${parsed.status.status}${parsed.status.statusStrings ? ` ${parsed.status.statusStrings.map((s) => s.valueBlock.value).join('; ')}` : ''}`);
  }
  let info: pkijs.TSTInfo;
  try {
    const signed = new pkijs.SignedData({ schema: parsed.timeStampToken.content });
    const content = signed.encapContentInfo.eContent;
    if (!content) throw new Error('no TSTInfo');
    info = pkijs.TSTInfo.fromBER(content.getValue());
  } catch (e) {
    throw new TimestampError(`time-stamp token unreadable: ${(e as Error).message}`);
  }
  const imprint = Buffer.from(info.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (info.messageImprint.hashAlgorithm.algorithmId !== SHA256_OID || !imprint.equals(createHash('sha256').update(data).digest())) {
    throw new TimestampError('the time-stamp covers other data than this checkpoint');
  }
  if (nonce && !(info.nonce && Buffer.from(info.nonce.valueBlock.valueHexView).equals(nonce))) {
    throw new TimestampError('the TSA answered with another nonce');
  }
  return { genTime: info.genTime };
}

/** Ask the TSA at `url` to time-stamp `data`; returns the checked DER TimeStampResp. */
export async function requestTimestamp(url: string, data: Buffer): Promise<Buffer> {
  // A positive 8-byte nonce (top bit clear, so DER does not read it as negative).
  const nonce = randomBytes(8);
  nonce[0] = (nonce[0]! & 0x7f) | 0x01;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: buildTimestampRequest(data, nonce) });
  } catch (e) {
    throw new TimestampError(`TSA ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new TimestampError(`TSA ${url}: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  checkTimestamp(body, data, nonce);
  return body;
}
