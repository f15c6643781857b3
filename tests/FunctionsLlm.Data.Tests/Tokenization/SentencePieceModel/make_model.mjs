// node make_model.mjs <spm-bpe fixture dir> : writes tokenizer.model (SentencePiece ModelProto, BPE, byte_fallback)
// built from the fixture's tokenizer.json vocabulary, and copies its tokenizer_config.json.
import fs from 'fs';
import path from 'path';

const fixture = process.argv[2];
const vocab = JSON.parse(fs.readFileSync(path.join(fixture, 'tokenizer.json'), 'utf8')).model.vocab;

const varint = n => { const out = []; let v = BigInt.asUintN(64, BigInt(n)); do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v); return Buffer.from(out); };
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => Buffer.concat([key(field, 0), varint(n)]);
const bytes = (field, b) => Buffer.concat([key(field, 2), varint(b.length), b]);
const str = (field, s) => bytes(field, Buffer.from(s, 'utf8'));
const float = (field, f) => { const b = Buffer.alloc(4); b.writeFloatLE(f); return Buffer.concat([key(field, 5), b]); };

// SentencePiece piece types: NORMAL 1, UNKNOWN 2, CONTROL 3, BYTE 6. Higher score = merged earlier; ids are in merge
// order, except that runs of "▁" get -1e9 as in Llama 2's tokenizer.model.
const scoreOf = (piece, id) => /^▁{2,}$/.test(piece) ? -1e9 : -id;
const typeOf = piece => piece === '<unk>' ? 2 : piece === '<s>' || piece === '</s>' ? 3 : /^<0x[0-9A-F]{2}>$/.test(piece) ? 6 : 1;
const pieces = Object.entries(vocab).sort((a, b) => a[1] - b[1]).map(([piece, id], index) => {
  if (id !== index) throw new Error(`ids are not 0..n-1 at ${piece}`);
  const type = typeOf(piece);
  return bytes(1, Buffer.concat([str(1, piece), float(2, type === 1 ? scoreOf(piece, id) : 0), ...(type === 1 ? [] : [int(3, type)])]));
});
const trainerSpec = Buffer.concat([int(3, 2 /* BPE */), int(4, pieces.length), int(35, 1 /* byte_fallback */),
  int(40, 0), int(41, 1), int(42, 2), int(43, -1)]);
const normalizerSpec = Buffer.concat([str(1, 'identity'), int(3, 1 /* add_dummy_prefix */), int(4, 0 /* remove_extra_whitespaces */),
  int(5, 1 /* escape_whitespaces */)]);
fs.writeFileSync('tokenizer.model', Buffer.concat([...pieces, bytes(2, trainerSpec), bytes(3, normalizerSpec)]));
fs.copyFileSync(path.join(fixture, 'tokenizer_config.json'), 'tokenizer_config.json');
