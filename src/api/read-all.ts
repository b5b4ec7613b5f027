/** Reads a response body whole (up to `max` bytes), telling the progress timer at each chunk. */
export async function readAll(body: AsyncIterable<Uint8Array>, touch: () => void, max = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    touch();
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (total + buf.length > max) {
      chunks.push(buf.subarray(0, max - total));
      break;
    }
    chunks.push(buf);
    total += buf.length;
  }
  return Buffer.concat(chunks);
}
