import { describe, expect, it } from 'vitest';
import { readBody } from '../../src/archive/s3.js';

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe('readBody (an S3 object body as one Buffer)', () => {
  it('copies the chunks into one buffer of the Content-Length, with memory of its own', async () => {
    const b = await readBody(chunks('abc', '', 'defgh', 'i'), 9, 'k');
    expect(b.toString()).toBe('abcdefghi');
    expect(b.byteOffset === 0 && b.byteLength === b.buffer.byteLength).toBe(true); // transferable whole
  });

  it('without a Content-Length, joins the chunks', async () => {
    const b = await readBody(chunks('ab', 'c'), undefined, 'k');
    expect(b.toString()).toBe('abc');
    expect(b.byteOffset === 0 && b.byteLength === b.buffer.byteLength).toBe(true);
  });

  it('an empty body is an empty buffer', async () => {
    expect((await readBody(chunks(), 0, 'k')).length).toBe(0);
  });

  it('refuses a body longer or shorter than its Content-Length, naming the key', async () => {
    await expect(readBody(chunks('abc', 'def'), 5, 'data/1.gz')).rejects.toThrow('data/1.gz: body longer than its Content-Length of 5 bytes');
    await expect(readBody(chunks('abc'), 5, 'data/1.gz')).rejects.toThrow('data/1.gz: body of 3 bytes, Content-Length 5');
  });
});
