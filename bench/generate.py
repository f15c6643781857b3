#!/usr/bin/env python3
"""Writes N synthetic customer-service records (alpaca shape) as JSONL and as a JSON array, deterministically.

About 8% are dirty the way real uploads are: exact and near duplicates, outputs under 10 characters, a missing field,
surrounding whitespace. Only alpaca records, so the seed tutorial's cleaner can read the same file.

usage: generate.py N OUT_PREFIX   ->  OUT_PREFIX.jsonl, OUT_PREFIX.json
"""
import json
import random
import sys

TOPICS = ["退货", "换货", "发票", "物流", "优惠券", "会员积分", "保修", "支付", "地址修改", "订单取消"]
PRODUCTS = ["蓝牙耳机", "电饭煲", "羽绒服", "空气净化器", "机械键盘", "保温杯", "运动鞋", "台灯", "床上四件套", "智能手表"]
ANSWERS = [
    "您好，{p}支持七天无理由退货，请保持商品完好并在订单详情页提交{t}申请，审核通过后退款将在1到3个工作日内原路退回。",
    "感谢您的耐心等待，关于{p}的{t}问题，我们已为您登记，客服专员会在24小时内联系您并给出处理方案，请保持电话畅通。",
    "您可以在“我的订单”中找到{p}，点击“{t}”按钮按提示操作即可；如遇到问题，可随时联系在线客服，我们全天为您服务。",
]


def record(rng, i):
    p, t = rng.choice(PRODUCTS), rng.choice(TOPICS)
    rec = {
        "instruction": f"请问{p}的{t}怎么处理？我的订单编号是YS{i:09d}。",
        "input": rng.choice(["", f"订单状态：已签收，商品：{p}", f"客户等级：金卡会员，咨询类型：{t}"]),
        "output": rng.choice(ANSWERS).format(p=p, t=t) + f"（工单号{i:07d}）",
    }
    roll = rng.random()
    if roll < 0.02:
        rec["output"] = "好的，已处理"[: rng.randint(2, 6)]
    elif roll < 0.03:
        del rec["input"]
    elif roll < 0.05:
        rec["instruction"] = "  " + rec["instruction"] + "\n"
    return rec


def main():
    n, prefix = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(20261128)
    previous = []
    with open(prefix + ".jsonl", "w", encoding="utf-8") as jsonl, open(prefix + ".json", "w", encoding="utf-8") as array:
        array.write("[\n")
        for i in range(n):
            if previous and rng.random() < 0.03:
                rec = dict(rng.choice(previous))  # exact duplicate
                if rng.random() < 0.5:
                    rec["output"] = rec["output"].replace("，", ", ").replace("。", ".")  # near duplicate
            else:
                rec = record(rng, i)
                if len(previous) < 1000:
                    previous.append(rec)
            line = json.dumps(rec, ensure_ascii=False)
            jsonl.write(line + "\n")
            array.write(("  " if i == 0 else ",\n  ") + line)
        array.write("\n]\n")


if __name__ == "__main__":
    main()
