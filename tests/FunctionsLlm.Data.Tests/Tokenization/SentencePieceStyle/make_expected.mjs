// node make_expected.mjs <spm-bpe fixture dir> > expected.json   (needs: npm install tokenizers@0.23.2)
import { Tokenizer } from 'tokenizers';
import fs from 'fs';
import os from 'os';
import path from 'path';

const fixture = process.argv[2];
const original = JSON.parse(fs.readFileSync(path.join(fixture, 'tokenizer.json'), 'utf8'));
const fixtureTexts = JSON.parse(fs.readFileSync(path.join(fixture, 'expected.json'), 'utf8')).cases.map(c => c.text);
const texts = [...fixtureTexts, 'Hello <s> world</s>', '</s>', '🦙 llama', '▁literal ▁', '𠀀 and \u0000', 'x  ', 'tab\there', '▁  x'];

const metaspace = (scheme, split) => ({ type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split });
const variants = [
  { name: 'fixture', edit: {} },
  { name: 'metaspace-always', edit: { normalizer: null, pre_tokenizer: metaspace('always', false),
      decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, metaspace('always', false)] } } },
  { name: 'metaspace-first-split', edit: { normalizer: null, pre_tokenizer: metaspace('first', true),
      decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, metaspace('first', true)] } } },
  { name: 'metaspace-never', edit: { normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '▁' }, pre_tokenizer: metaspace('never', false),
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }] } } },
  { name: 'metaspace-add-prefix-space', edit: { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', add_prefix_space: true },
      decoder: { type: 'Metaspace', replacement: '▁', add_prefix_space: true } } },
  { name: 'unk-fused', edit: { model: { byte_fallback: false, fuse_unk: true } } },
  { name: 'unk-not-fused', edit: { model: { byte_fallback: false, fuse_unk: false } } },
];

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'spm-style-'));
const output = { source: 'tokenizers 0.23.2 (npm): Hugging Face\'s Rust tokenizers, which transformers\' fast tokenizers run, on the spm-bpe fixture tokenizer.json edited as each variant says', variants: [] };
for (const variant of variants) {
  const json = structuredClone(original);
  const { model, ...rest } = variant.edit;
  Object.assign(json, rest);
  Object.assign(json.model, model ?? {});
  const file = path.join(directory, variant.name + '.json');
  fs.writeFileSync(file, JSON.stringify(json));
  const tokenizer = Tokenizer.fromFile(file);
  const cases = [];
  for (const text of texts) {
    const ids = Array.from((await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds());
    const idsWithSpecial = Array.from((await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds());
    cases.push({ text, ids, ids_with_special: idsWithSpecial, decoded: await tokenizer.decode(ids, false),
      decoded_skipping_special: await tokenizer.decode(ids, true) });
  }
  output.variants.push({ name: variant.name, edit: variant.edit, cases });
}
fs.rmSync(directory, { recursive: true });
console.log(JSON.stringify(output, null, 1));
