/**
 * PNG files of 8-bit raw images (grey or RGB, or a box of one), deflated by node:zlib in the calling thread (the
 * image archive's writer thread, ../result/archive-worker, not the event loop).
 *
 * The image archive writes a 5-megapixel frame and up to 48 spot crops for every NOK part. Through sharp that cost
 * (2-core machine, simulator frame 2448×2048 Mono8) 110 ms of CPU for the frame at zlib level 3 (4.2 MB; level 1:
 * 75 ms, 6.7 MB) and 1.4 ms for each 96×96 crop, almost all of it sharp's and libvips' cost per image, not the
 * compression. sharp cannot pick zlib's strategy; here the rows are unfiltered and deflated with Z_RLE, which for
 * camera images (noise, smooth shading) keeps nearly all of the entropy coding's gain at a fraction of the
 * string matching's CPU: the same frame in 40 ms and 3.3 MB. bench/README.md "archive" has the figures.
 *
 * The file is what the PNG specification (ISO/IEC 15948) asks for and nothing more: signature, IHDR (bit depth 8,
 * colour type 0 or 2, no interlace), one IDAT, IEND, each chunk with its CRC-32.
 */
import { constants, crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngSource {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
  /** the source's pixels are B, G, R: written as R, G, B */
  bgr?: boolean;
}

export interface PngBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A reusable buffer for the filtered rows (the image archive writes one file at a time and keeps one). */
export class RowScratch {
  private buf = Buffer.alloc(0);
  take(bytes: number): Buffer {
    if (this.buf.length < bytes) this.buf = Buffer.allocUnsafe(bytes);
    return this.buf.subarray(0, bytes);
  }
}

function chunk(type: string, data: Buffer): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4, 8))), 0);
  return [head, data, tail];
}

/**
 * The PNG of `img` (or of `box` inside it) as a list of buffers to write one after the other (the deflated data is
 * not copied again). `scratch` lends the row buffer.
 */
export function pngParts(img: PngSource, box?: PngBox, scratch?: RowScratch): Buffer[] {
  const b = box ?? { left: 0, top: 0, width: img.width, height: img.height };
  const c = img.channels;
  if (!(c === 1 || c === 3)) throw new RangeError(`png: ${String(c)} channels (1 or 3 are written)`);
  if (!(Number.isInteger(b.left) && Number.isInteger(b.top) && Number.isInteger(b.width) && Number.isInteger(b.height))) throw new RangeError('png: the box must be whole pixels');
  if (b.width <= 0 || b.height <= 0 || b.left < 0 || b.top < 0 || b.left + b.width > img.width || b.top + b.height > img.height) {
    throw new RangeError(`png: box ${b.width}×${b.height}+${b.left}+${b.top} is not inside the ${img.width}×${img.height} image`);
  }
  if (img.data.length !== img.width * img.height * c) throw new RangeError(`png: ${img.data.length} bytes for a ${img.width}×${img.height}×${c} image`);
  const stride = b.width * c + 1;
  const rows = scratch ? scratch.take(stride * b.height) : Buffer.allocUnsafe(stride * b.height);
  const src = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  for (let y = 0; y < b.height; y++) {
    const o = y * stride;
    rows[o] = 0; // filter type None
    const from = ((b.top + y) * img.width + b.left) * c;
    if (img.bgr && c === 3) {
      for (let x = 0; x < b.width * 3; x += 3) {
        rows[o + 1 + x] = src[from + x + 2];
        rows[o + 2 + x] = src[from + x + 1];
        rows[o + 3 + x] = src[from + x];
      }
    } else src.copy(rows, o + 1, from, from + b.width * c);
  }
  const idat = deflateSync(rows, { strategy: constants.Z_RLE, chunkSize: Math.min(4 << 20, Math.max(64 << 10, rows.length >> 2)) });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(b.width, 0);
  ihdr.writeUInt32BE(b.height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = c === 3 ? 2 : 0; // colour type: truecolour or greyscale
  // compression 0, filter method 0, no interlace: the zeros already there
  return [SIGNATURE, ...chunk('IHDR', ihdr), ...chunk('IDAT', idat), ...chunk('IEND', Buffer.alloc(0))];
}

/** The PNG as one buffer. */
export function encodePng(img: PngSource, box?: PngBox): Buffer {
  return Buffer.concat(pngParts(img, box));
}
