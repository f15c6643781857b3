"""Reference data for the filters/tests @huggingface/jinja lacks, rendered by Python Jinja2 the way transformers
configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks). Outputs only strings and integers, whose
printing is the same in both engines. Usage: python3 render_python.py <output folder>"""
import json
import sys
from pathlib import Path

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATE = (
    "{{ xs | count }}|{{ nums | select('odd') | join(',') }}|{{ nums | reject('odd') | join(',') }}|"
    "{{ words | map('upper') | join(',') }}|{{ words | map('replace', 'a', 'A') | join(',') }}|{{ '<a href=\"x\">&\\'' | e }}|"
    "{{ '--x--' | trim('-') }}|{{ 2.567 | round(2) | string }}|{{ nums | select('divisibleby', 3) | join(',') }}|"
    "{% for t in [6 is divisibleby 3, x is equalto 2, x is eq(3), x is ne 2, 'a' is in words, 'ab' is in words, x is lt 3] %}"
    "{{ 'T' if t else 'F' }}{% endfor %}|"
    "{{ ', '.join(words) }}|{{ words | select('equalto', 'b') | list | length }}|{{ nums | select | list | length }}|"
    "{{ xs | default }}|{{ missing | d('dv') }}|{{ 'abc' | list | join('.') }}|{{ nums | select('gt', 3) | join(',') }}"
)
CASES = [{"xs": [1, 2, 3], "nums": [0, 1, 2, 3, 4, 5, 6], "words": ["a", "b", "banana"], "x": 2}]


def main(out_dir: str) -> None:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(TEMPLATE)
    cases = [{"variables": v, "rendered": template.render(**v)} for v in CASES]
    data = {"source": f"Python Jinja2 {jinja2.__version__} via tests/tools/jinja-reference/render_python.py",
            "template": TEMPLATE, "cases": cases}
    Path(out_dir, "python-extensions.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
