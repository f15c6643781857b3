// node make_model.mjs <tiny-glm fixture dir> : writes tokenizer.model in tiktoken format ("BASE64TOKEN RANK" lines, as
// THUDM/glm-4-9b-chat ships it) from the fixture's byte-level tokenizer.json vocabulary (rank = id, the correspondence
// transformers' TikTokenConverter uses) plus a few appended tokens, and a tokenizer_config.json laid out like
// glm-4-9b-chat's, whose 14 special tokens follow the vocabulary.
import fs from 'fs';
import path from 'path';

const fixture = process.argv[2];
const vocab = JSON.parse(fs.readFileSync(path.join(fixture, 'tokenizer.json'), 'utf8')).model.vocab;
const fixtureConfig = JSON.parse(fs.readFileSync(path.join(fixture, 'tokenizer_config.json'), 'utf8'));

// GPT-2's byte-to-character table, inverted: a byte-level vocabulary spells byte b as charOf[b].
const printable = b => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
const byteOf = new Map();
let next = 256;
for (let b = 0; b < 256; b++) byteOf.set(String.fromCodePoint(printable(b) ? b : next++), b);

const entries = Object.entries(vocab).sort((a, b) => a[1] - b[1]);
const tokens = entries.map(([token, id], index) => {
  if (id !== index) throw new Error(`ids are not 0..n-1 at ${token}`);
  return Buffer.from([...token].map(c => { if (!byteOf.has(c)) throw new Error(`${token} is not byte-level`); return byteOf.get(c); }));
});
// Appended so that the pattern's choices change the ids: digit groups (\p{N}{1,3}), whitespace runs (\s+(?!\S)),
// contractions in any case ("EI" would join across "O'RE|ILLY"), and emoji pieces that end inside a character (as
// GLM-4's vocabulary has them).
const extra = ['12', '123', '45', '456', '10', '100', '00', '000', '20', '202', '  ', '   ', '    ', '\n\n', '\n\n\n', ' \n',
  '\t\t', '\r\n', "'s", "'t", "'re", "'ll", "'m", "'d", "'ve", 'EI'].map(text => Buffer.from(text, 'utf8'));
extra.push(Buffer.from([0xf0, 0x9f]), Buffer.from([0xf0, 0x9f, 0x8e]), Buffer.from('🎉', 'utf8'), Buffer.from(' 🎉', 'utf8'));
for (const token of extra) {
  if (tokens.some(existing => existing.equals(token))) throw new Error(`${token} is already in the vocabulary`);
  tokens.push(token);
}
fs.writeFileSync('tokenizer.model', tokens.map((bytes, rank) => `${bytes.toString('base64')} ${rank}\n`).join(''));

const specials = ['<|endoftext|>', '[MASK]', '[gMASK]', '[sMASK]', '<sop>', '<eop>', '<|system|>', '<|user|>', '<|assistant|>',
  '<|observation|>', '<|begin_of_image|>', '<|end_of_image|>', '<|begin_of_video|>', '<|end_of_video|>'];
const addedTokensDecoder = Object.fromEntries(specials.map((content, i) => [String(tokens.length + i),
  { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]));
const config = {
  auto_map: { AutoTokenizer: ['tokenization_chatglm.ChatGLM4Tokenizer', null] },
  added_tokens_decoder: addedTokensDecoder,
  additional_special_tokens: specials,
  clean_up_tokenization_spaces: false,
  chat_template: fixtureConfig.chat_template,
  do_lower_case: false,
  eos_token: '<|endoftext|>',
  pad_token: '<|endoftext|>',
  model_max_length: fixtureConfig.model_max_length,
  padding_side: 'left',
  remove_space: false,
  tokenizer_class: 'ChatGLM4Tokenizer',
};
fs.writeFileSync('tokenizer_config.json', JSON.stringify(config, null, 2) + '\n');
