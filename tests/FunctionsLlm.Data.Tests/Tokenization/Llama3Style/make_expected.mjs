import { PreTrainedTokenizer } from '@huggingface/transformers';
import fs from 'fs';
const dir = process.argv[2];
const tj = JSON.parse(fs.readFileSync(dir + '/tokenizer.json', 'utf8'));
const tc = JSON.parse(fs.readFileSync(dir + '/tokenizer_config.json', 'utf8'));
const tok = new PreTrainedTokenizer(tj, tc);
const texts = ["hello world", "Hello world! 1234567 and 123", "<|begin_of_text|>hi<|im_end|>\n", "It's I'm we'll DON'T it'ſt",
  "𠀀abc 𝟘𝟙 😀👍🏽", "  leading   and trailing  \n\n\tx", "numbers 3.14159 -42 10000", "您好，这款产品的价格是299元。", "café naïve ümlaut", ""];
const cases = texts.map(t => ({ text: t, ids: Array.from(tok.encode(t, { add_special_tokens: false })), ids_with_special: Array.from(tok.encode(t)) }));
console.log(JSON.stringify({ source: "transformers.js @huggingface/transformers 4.3.1 (PreTrainedTokenizer on these files)", cases }, null, 1));
