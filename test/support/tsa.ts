/**
 * A local RFC 3161 time-stamping authority for tests: a throwaway CA and TSA certificate made with
 * openssl, and an HTTP endpoint that answers each query with `openssl ts -reply`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalTsa {
  url: string;
  /** The CA certificate (PEM) an examiner would be given to check the TSA's signatures. */
  caFile: string;
  tsaCertFile: string;
  close(): Promise<void>;
}

const CONFIG = `[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_cert = ./tsa.crt
signer_key = ./tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`;

export async function startTsa(): Promise<LocalTsa> {
  const dir = mkdtempSync(join(tmpdir(), 'wormseal-tsa-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=wormseal test CA', '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tsa.key', '-out', 'tsa.csr', '-subj', '/CN=wormseal test TSA');
  writeFileSync(join(dir, 'tsa.ext'), 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n');
  ssl('x509', '-req', '-in', 'tsa.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tsa.crt', '-days', '2', '-extfile', 'tsa.ext');
  writeFileSync(join(dir, 'tsaserial'), '01\n');
  writeFileSync(join(dir, 'tsa.cnf'), CONFIG);
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const q = `q${++n}.tsq`;
      writeFileSync(join(dir, q), Buffer.concat(chunks));
      try {
        ssl('ts', '-reply', '-config', 'tsa.cnf', '-queryfile', q, '-out', `${q}.tsr`);
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(readFileSync(join(dir, `${q}.tsr`)));
      } catch (e) {
        res.writeHead(500).end(String((e as { stderr?: Buffer }).stderr ?? e));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    caFile: join(dir, 'ca.crt'),
    tsaCertFile: join(dir, 'tsa.crt'),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
