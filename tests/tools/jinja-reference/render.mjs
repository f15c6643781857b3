// Renders chat templates and construct-focused mini templates with @huggingface/jinja and writes the results
// as reference data for the C# tests. See README.md for how to run it.
import { createRequire } from "node:module";
import { writeFileSync, mkdirSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import * as real from "./templates-real.mjs";

const require = createRequire(path.join(process.cwd(), "index.js"));
const { Template } = require("@huggingface/jinja");
const outDir = process.argv[2];
if (!outDir) throw new Error("usage: node render.mjs <output folder>");
mkdirSync(outDir, { recursive: true });

const weatherTool = { type: "function", function: { name: "get_weather", description: "Get the weather in a city",
  parameters: { type: "object", properties: { city: { type: "string", description: "City name, e.g. Zürich" },
  unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["city"] } } };
const chat = {
  single: [{ role: "user", content: "Hello there!" }],
  system: [{ role: "system", content: "  You are terse.\n" }, { role: "user", content: " What is 2+2? " }],
  multi: [{ role: "system", content: "Be kind." }, { role: "user", content: "Hi" }, { role: "assistant", content: "Hello! How can I help?" },
    { role: "user", content: "Tell me a joke about ünïcödé 😀" }],
  noSystemMulti: [{ role: "user", content: "Hi" }, { role: "assistant", content: " Hey. " }, { role: "user", content: "Bye" }],
  badAlternation: [{ role: "user", content: "a" }, { role: "user", content: "b" }],
  toolCall: [{ role: "user", content: "Weather in Paris?" },
    { role: "assistant", content: "", tool_calls: [{ id: "abc123def", type: "function", function: { name: "get_weather", arguments: { city: "Paris", unit: "celsius" } } }] },
    { role: "tool", tool_call_id: "abc123def", content: "{\"temp\": 21}" }, { role: "assistant", content: "It is 21 °C." }],
};
const lookupTool = { name: "lookup", description: "Look a word up", parameters: { type: "object", properties: { word: { type: "string" } } } };
// GLM-4's own tool convention: a call is an assistant turn whose metadata names the function, its result an observation turn.
const glmCall = [{ role: "user", content: "Weather in Paris?" }, { role: "assistant", metadata: "get_weather", content: "{\"city\": \"Paris\"}" },
  { role: "observation", content: "{\"temp\": 21}" }, { role: "assistant", content: "It is 21 °C." }, { role: "user", content: "And Rome?" }];
const glmToolsSystem = (content) => ({ role: "system", content, tools: [weatherTool, { type: "python" }, { type: "simple_browser" }, { type: "cogview" }] });
const base = { bos_token: "<s>", eos_token: "</s>" };
const conv = (messages, extra = {}) => ({ ...base, messages, add_generation_prompt: true, ...extra });
const convNoGen = (messages, extra = {}) => ({ ...base, messages, add_generation_prompt: false, ...extra });

const chatSuites = {
  "llama-3.1": [real.llama31, [conv(chat.single, { date_string: "05 Mar 2025" }), conv(chat.system, { date_string: "05 Mar 2025" }),
    convNoGen(chat.multi, { date_string: "05 Mar 2025" }), conv(chat.single, { date_string: "05 Mar 2025", tools: [weatherTool] }),
    conv(chat.toolCall, { date_string: "05 Mar 2025", tools: [weatherTool] }),
    conv(chat.system, { date_string: "05 Mar 2025", tools: [weatherTool], tools_in_user_message: false }),
    conv([{ role: "system", content: "x" }], { date_string: "05 Mar 2025", tools: [weatherTool] })]],
  "llama-3.2": [real.llama32, [conv(chat.single, { date_string: "01 Jan 2025" }), convNoGen(chat.multi, { date_string: "01 Jan 2025" }),
    conv(chat.toolCall, { date_string: "01 Jan 2025", tools: [weatherTool] })]],
  "mistral-v0.3": [real.mistralV03, [conv(chat.single), conv(chat.multi), convNoGen(chat.noSystemMulti),
    conv(chat.badAlternation), conv(chat.toolCall, { tools: [weatherTool] })]],
  "qwen2.5": [real.qwen25, [conv(chat.single), conv(chat.multi), conv(chat.toolCall, { tools: [weatherTool] }),
    convNoGen(chat.system, { tools: [weatherTool] })]],
  "gemma": [real.gemma, [conv(chat.single), convNoGen(chat.noSystemMulti), conv(chat.system), conv(chat.badAlternation)]],
  "phi-3": [real.phi3, [conv(chat.multi), convNoGen(chat.noSystemMulti)]],
  "deepseek-r1": [real.deepseekR1, [conv(chat.multi), convNoGen([{ role: "user", content: "Q" }, { role: "assistant", content: "<think>hmm</think>A" }])]],
  "glm-4-9b-chat-hf": [real.glm4ChatHf, [conv(chat.single), conv(chat.multi), convNoGen(chat.noSystemMulti),
    conv([glmToolsSystem(""), chat.single[0]]), conv([glmToolsSystem("Be brief."), ...glmCall]), conv(chat.toolCall, { tools: [weatherTool] })]],
  "glm-4-9b-0414": [real.glm4_0414, [conv(chat.single), conv(chat.multi), convNoGen(chat.noSystemMulti),
    conv(chat.single, { tools: [weatherTool, lookupTool] }), conv([{ role: "system", content: "Be brief." }, ...glmCall], { tools: [weatherTool] }),
    convNoGen([...chat.noSystemMulti, { role: "system", content: "Late rule." }], { tools: [] }), conv(chat.toolCall, { tools: [weatherTool] })]],
};

const nested = { name: "tool", args: { list: [1, 2.5, true, null, "é\"\\\n\t"], empty: {}, none: [] }, "ключ": "значение 😀" };
const people = [{ name: "Ann", age: 31, role: "admin" }, { name: "bob", age: 25 }, { name: "Cid", age: 40, role: "user" }];
const mini = {
  "whitespace": [String.raw`Header
  {% if flag %}
    yes
  {% else %}
    no
  {% endif %}
{#- comment -#}
  {{- " tight " -}}
  after
  {%- for i in [1, 2] %}
    item {{ i }}
  {%- endfor %}
  {# keep #}
end
`, [{ flag: true }, { flag: false }]],
  "generation-tags": [String.raw`{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}[{{ m.content }}]{% endif %}
{% endfor %}`, [{ messages: chat.noSystemMulti }]],
  "slicing": [String.raw`{{ xs[1:] }}|{{ xs[:-1] }}|{{ xs[::-1] }}|{{ xs[::2] }}|{{ xs[-2:] }}|{{ xs[1:4:2] }}|{{ s[::-1] }}|{{ s[2:] }}|{{ s[-3:] }}|{{ xs[10:] }}|{{ xs[-1] }}|{{ s[0] }}`,
    [{ xs: [1, 2, 3, 4, 5], s: "héllo wörld" }]],
  "loop-variables": [String.raw`{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.length }}:{{ x }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}<{{ loop.previtem }}|{{ loop.nextitem }}>{% endfor %}
{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}
{% for x in xs if x != 'b' %}{{ x }}{{ loop.index }}{% else %}none{% endfor %}
{% for x in [] %}x{% else %}empty{% endfor %}
{% for x in xs %}{% if x == 'b' %}{% continue %}{% endif %}{% if x == 'd' %}{% break %}{% endif %}{{ x }}{% endfor %}
{% for k in d %}{{ k }}{% endfor %}
{% for a in [1, 2] %}{% for b in ['x', 'y'] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }};{% endfor %}`,
    [{ xs: ["a", "b", "c", "d", "e"], d: { one: 1, two: "2", three: [3] } }]],
  "namespace-and-set": [String.raw`{% set ns = namespace(count=0, names=[]) %}{% for p in people %}{% set ns.count = ns.count + p.age %}{% set ns.names = ns.names + [p.name] %}{% endfor %}{{ ns.count }} {{ ns.names | join(',') }}
{% set a, b = 1, 'two' %}{{ a }}{{ b }}
{% set block %}  inner {{ a }} {% endset %}[{{ block }}]
{% set outer = 'o' %}{% for i in [1] %}{% set outer = 'inner' %}{{ outer }}{% endfor %}{{ outer }}
{% set ns2 = namespace({'k': 'v'}) %}{{ ns2.k }}`, [{ people }]],
  "filters": [String.raw`{{ '  pad  ' | trim }}|{{ xs | length }}|{{ 'abc' | length }}|{{ xs | first }}|{{ xs | last }}|{{ 'MiXed' | lower }}|{{ 'MiXed' | upper }}
{{ 'hello wide world' | title }}|{{ 'hello World' | capitalize }}|{{ 42 | string }}|{{ '17' | int + 1 }}|{{ '3.5' | float }}|{{ 'x' | int }}|{{ 3.7 | int }}|{{ -3 | abs }}
{{ xs | join(', ') }}|{{ xs | join }}|{{ missing | default('dflt') }}|{{ '' | default('empty', true) }}|{{ 'a-b-a' | replace('a', 'X') }}|{{ xs | reverse | join }}
{{ nums | sort | join(' ') }}|{{ nums | sort(reverse=true) | join(' ') }}|{{ nums | unique | join(' ') }}|{{ d | items | length }}|{{ d | length }}
{{ people | selectattr('role') | map(attribute='name') | join(',') }}|{{ people | rejectattr('role') | map(attribute='name') | join(',') }}|{{ people | selectattr('role', 'equalto', 'admin') | map(attribute='name') | join }}
{{ people | sort(attribute='name') | map(attribute='name') | join(',') }}|{{ people | sort(attribute='age', reverse=true) | map(attribute='age') | join(',') }}|{{ people | map(attribute='role', default='-') | join(',') }}
{{ 'line1\nline2\n\nline4' | indent(2) }}|{{ 'a\nb' | indent(4, true) }}|{{ '<b>' | safe }}|{{ xs | list | length }}|{{ d | dictsort | first | first }}`,
    [{ xs: ["x", "y", "z"], nums: [3, 1, 2, 3, 10], d: { b: 2, a: 1 }, people }]],
  "tojson": [String.raw`{{ v | tojson }}
{{ v | tojson(indent=2) }}
{{ v | tojson(ensure_ascii=true) }}
{{ v | tojson(sort_keys=true) }}
{{ 'plain' | tojson }}|{{ 3 | tojson }}|{{ 2.5 | tojson }}|{{ none | tojson }}|{{ undefined_var | tojson }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson }}`,
    [{ v: nested }]],
  "printing": [String.raw`{{ true }}|{{ false }}|{{ none }}|{{ [1, 'a', none, true, 2.0] }}|{{ {'k': [1, {'z': none}]} }}|{{ 1.0 }}|{{ 2.5 }}|{{ 7 / 2 }}|{{ 4 / 2 }}|{{ 7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 0.1 + 0.2 }}|{{ 'a' ~ 1 ~ 2.0 ~ true }}|{{ 'n' + 5 }}|{{ undefined_var }}|{{ undefined_var.attr.deeper }}|{{ 10 - -2 }}|{{ -x }}`,
    [{ x: 3 }]],
  "string-methods": [String.raw`{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip('\n') }}|{{ s.upper() }}|{{ s.lower() }}|{{ 'ab cd'.title() }}|{{ 'abc'.capitalize() }}
{{ csv.split(',') | join('/') }}|{{ csv.split(',', 1) | join('/') }}|{{ ' a  b c '.split() | join('/') }}|{{ 'a b c'.split(none, 1) | join('/') }}|{{ csv.startswith('a,') }}|{{ csv.endswith(('x', 'c')) }}|{{ csv.replace(',', ';', 1) }}|{{ 'think</think>answer'.split('</think>')[-1] }}|{{ csv.split(',')[0] }}`,
    [{ s: "\n  Hi There \n", csv: "a,b,c" }]],
  "tests": [String.raw`{% for v in values %}{{ v is defined }},{{ v is none }},{{ v is string }},{{ v is number }},{{ v is integer }},{{ v is boolean }},{{ v is mapping }},{{ v is iterable }},{{ v is sequence }},{{ v is true }},{{ v is false }};{% endfor %}
{{ missing is defined }},{{ missing is undefined }},{{ 3 is odd }},{{ 4 is even }},{{ 'abc' is lower }},{{ 'ABC' is upper }},{{ x is not none }},{{ none is not none }}`,
    [{ values: ["s", 1, 2.5, true, null, [1], { a: 1 }, ""], x: 0 }]],
  "operators": [String.raw`{{ 1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 }}|{{ 1 == 1.0 }}|{{ 'a' == 'a' }}|{{ 'a' != 'b' }}|{{ 'b' in 'abc' }}|{{ 'z' not in 'abc' }}|{{ 2 in [1, 2] }}|{{ 'k' in {'k': 1} }}|{{ 'x' in missing }}
{{ not true }}|{{ none or 'fallback' }}|{{ '' and 'never' }}|{{ [] or 'empty list' }}|{{ 'yes' if x else 'no' }}|{{ 'yes' if not x else 'no' }}|{{ ('t' if x) }}|{{ [1, 2] + [3] }}|{{ (1 + 2) * 3 - 4 / 2 }}|{{ x == 0 }}`,
    [{ x: 0 }]],
  "macros": [String.raw`{% macro tag(name, value='dflt', sep=': ') %}<{{ name }}{{ sep }}{{ value }}>{% endmacro %}
{{ tag('a') }}{{ tag('b', 'v') }}{{ tag('c', sep='=') }}{{ tag(name='d', value=1) }}
{% macro render_tools(tools) %}{% for t in tools %}- {{ t.function.name }}: {{ t.function.description }}
{% endfor %}{% endmacro %}{{ render_tools(tools) }}
{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}called {{ who }}{% endcall %}
{% macro uses_outer() %}{{ who }}{% endmacro %}{{ uses_outer() }}`, [{ tools: [weatherTool, weatherTool], who: "me" }]],
  "qwen3-style-reasoning": [String.raw`{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.role == "assistant" and '</think>' in message.content %}
        {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
        {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
        {{- loop.index0 }}:{{ ns.last_query_index }}[{{ reasoning_content.strip('\n') }}]({{ content }})
    {%- else %}
        {{- loop.index0 }}:{{ message.content }}
    {%- endif %}
{%- endfor %}`, [{ messages: [{ role: "user", content: "q1" }, { role: "assistant", content: "<think>\n  r1  \n</think>\n\n  a1" },
    { role: "user", content: "<tool_response>x</tool_response>" }] }]],
};

const render = (template, variables) => {
  try { return { rendered: new Template(template).render(variables) }; }
  catch (e) { return { error: e.message }; }
};
const write = (name, template, variableSets) => {
  const cases = variableSets.map((variables) => ({ variables, ...render(template, variables) }));
  writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify({
    source: "@huggingface/jinja 0.5.11 via tests/tools/jinja-reference/render.mjs", template, cases }, null, 1) + "\n");
};
for (const [name, [template, sets]] of Object.entries(chatSuites)) write(`chat-${name}`, template, sets);
for (const [name, [template, sets]] of Object.entries(mini)) write(`mini-${name}`, template, sets);

// The tiny test models' own chat templates, read from the shared fixtures (FLM_FIXTURES or ../shared/fixtures).
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const fixtures = process.env.FLM_FIXTURES ?? path.resolve(repoRoot, "../shared/fixtures");
const modelsDir = path.join(fixtures, "models");
if (existsSync(modelsDir)) {
  for (const model of readdirSync(modelsDir)) {
    const config = JSON.parse(readFileSync(path.join(modelsDir, model, "tokenizer_config.json"), "utf8"));
    write(`fixture-${model}`, config.chat_template, [conv(chat.single), convNoGen(chat.multi), conv(chat.toolCall)]);
  }
}
console.log(`wrote ${Object.keys(chatSuites).length + Object.keys(mini).length} reference files to ${outDir}`);
