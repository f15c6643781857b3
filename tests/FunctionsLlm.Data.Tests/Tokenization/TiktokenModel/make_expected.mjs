// node make_expected.mjs > expected.json   (needs: npm install js-tiktoken@1.0.21)
// Ids and decoded text from js-tiktoken for tokenizer.model and the special tokens of tokenizer_config.json in this folder.
import { Tiktoken } from 'js-tiktoken/lite';
import fs from 'fs';

// tokenization_chatglm.py's pat_str. JavaScript (Node 20) has no inline (?i:...), so that group is spelled out with the
// letters Unicode simple case folding relates (as in js-tiktoken's own cl100k_base; "ſ" folds to "s" in tiktoken's regex).
const glmPattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const jsPattern = "'(?:[sSſ]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const modelLines = fs.readFileSync('tokenizer.model', 'utf8').split('\n').filter(Boolean).map(line => line.split(' '));
const bpeRanks = modelLines.map(([token, rank]) => `! ${rank} ${token}`).join('\n');
const config = JSON.parse(fs.readFileSync('tokenizer_config.json', 'utf8'));
const special = Object.fromEntries(Object.entries(config.added_tokens_decoder).map(([id, token]) => [token.content, Number(id)]));
const encoding = new Tiktoken({ pat_str: jsPattern, special_tokens: special, bpe_ranks: bpeRanks });
const isSpecial = id => Object.values(special).includes(id);

const texts = [
  '您好，这款产品的价格是299元。',
  '退款会在3到5个工作日内原路退回。请保持原包装和标签完整。',
  'Hello! Your order #A1029 has shipped within 3 days of the month.',
  "I'm sure it's THEY'LL and WE'VE, you'd say; o'clock, O'REILLY",
  'Numbers: 1234567, 3.14159, 1,000,000, 4512 and 2024年10月1日',
  '  leading,   inner   and trailing   ',
  'lines\n\n\nwith\r\nbreaks \n  indented\t\ttabs\n',
  'emoji 👍🏽 and 🎉🎉 family 👨‍👩‍👧 😊',
  '𠀀𠀁 astral letters, ünïcödé Ωmega and\u00a0no-break\u3000ideographic space',
  '[gMASK]<sop><|user|>\n你好，请问发票会发送到哪里？<|assistant|>\n发票会发送到您的邮箱。<|endoftext|>',
  '<|system|>\nYou are helpful. <|user|>\n 3 spaces   <|assistant|>',
  'text<sop>inside[MASK]words [sMASK] <|observation|>',
  '<|begin_of_image|><|endoftext|><|end_of_image|>描述这张图片',
  'not special: <|user| [gMASK <sop',
  '',
  '\n',
  '   ',
];
const cases = texts.map(text => {
  const ids = encoding.encode(text, 'all');
  return { text, ids, decoded: encoding.decode(ids), decoded_skipping_special: encoding.decode(ids.filter(id => !isSpecial(id))) };
});
// Tokens that break UTF-8: a cut emoji (bytes, or the token F0 9F), a stray continuation byte, a lone lead byte, a
// special token in between.
const emojiStart = Number(modelLines.find(([token]) => token === Buffer.from([0xf0, 0x9f]).toString('base64'))[1]);
const decodeCases = [[240, 159, 145], [emojiStart], [emojiStart, 145, 141], [141, 240, 159, 145, 141],
  [101, emojiStart, special['[gMASK]'], 145, 141, 10], [195]].map(ids => ({ ids, decoded: encoding.decode(ids) }));
console.log(JSON.stringify({
  source: 'js-tiktoken 1.0.21 on tokenizer.model, special tokens from tokenizer_config.json (allowed everywhere)',
  pat_str: glmPattern,
  cases,
  decode_cases: decodeCases,
}, null, 1));
