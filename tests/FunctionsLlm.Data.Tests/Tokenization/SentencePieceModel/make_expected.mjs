// node make_expected.mjs <spm-bpe fixture dir> > expected.json   (needs: npm install @sctg/sentencepiece-js@1.3.3)
// Ids and decoded text from SentencePiece itself (compiled to WebAssembly) for tokenizer.model in this folder.
import spm from '@sctg/sentencepiece-js';
import fs from 'fs';
import path from 'path';

const fixtureTexts = JSON.parse(fs.readFileSync(path.join(process.argv[2], 'expected.json'), 'utf8')).cases.map(c => c.text);
const texts = [...fixtureTexts, '🦙 llama', '𠀀 and \u0000', 'x  ', 'tab\there', 'Hello <s> world</s>'];
const special = { '<s>': 1, '</s>': 2 };
const model = fs.readFileSync('tokenizer.model');
const withPrefix = new spm.SentencePieceProcessor();
await withPrefix.loadFromB64StringModel(model.toString('base64'));
// transformers' LlamaTokenizer with legacy false turns add_dummy_prefix off and puts "▁" before the whole text instead
// (a repeated message field is merged, so the appended normalizer_spec only changes add_dummy_prefix).
const withoutPrefix = new spm.SentencePieceProcessor();
await withoutPrefix.loadFromB64StringModel(Buffer.concat([model, Buffer.from([0x1a, 2, 0x18, 0])]).toString('base64'));
// As transformers' slow LlamaTokenizer: SentencePiece encodes each stretch between special tokens; legacy true gives
// every stretch the dummy prefix, legacy false only the start of the text (and drops it before a special token).
const encode = (text, legacy) => {
  const ids = [];
  const parts = (legacy ? text : '▁' + text.replaceAll('▁', ' ')).split(/(<s>|<\/s>)/).filter(part => part.length > 0);
  for (const [index, part] of parts.entries()) {
    if (part in special) ids.push(special[part]);
    else if (!legacy && part === '▁' && index === 0 && parts[1] in special) continue;
    else ids.push(...(legacy ? withPrefix : withoutPrefix).encodeIds(part));
  }
  return ids;
};
const cases = texts.map(text => {
  const ids = encode(text, true);
  return { text, ids, decoded: withPrefix.decodeIds(ids.filter(id => id > 2)), ids_legacy_false: text.length === 0 ? [] : encode(text, false) };
});
console.log(JSON.stringify({ source: 'SentencePiece (@sctg/sentencepiece-js 1.3.3, WebAssembly build) on tokenizer.model', cases }, null, 1));
