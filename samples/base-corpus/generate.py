#!/usr/bin/env python3
"""Writes corpus.jsonl: the general-purpose chat corpus the demo base model (samples/base-model) is trained on.

It teaches the chat format and polite, generic assistant replies in Chinese and English (greetings, thanks, small
arithmetic, days and colours, asking for an order number) and deliberately none of the store's policies in
samples/customer-service.*: fine-tuning on those must visibly change the answers. It does teach their vocabulary,
as any pretrained model knows its tokenizer's words: a repeat-after-me task over the phrases of those files,
shuffled so no question meets its answer. Without it, tokens the base never saw keep untrained embeddings (tied to
the output layer), which a LoRA adapter cannot change, and fine-tuning stalls. Deterministic (seeded).
usage: python3 samples/base-corpus/generate.py > samples/base-corpus/corpus.jsonl
"""
import json
import os
import random
import re

random.seed(20261128)
ZH_NUM = "零一二三四五六七八九十"
DAYS_ZH = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]
DAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
COLOURS = [("红色", "red"), ("蓝色", "blue"), ("绿色", "green"), ("黄色", "yellow"), ("黑色", "black"), ("白色", "white")]
THINGS = [("苹果", "apple", "红色", "red"), ("天空", "sky", "蓝色", "blue"), ("草地", "grass", "绿色", "green"),
          ("香蕉", "banana", "黄色", "yellow"), ("夜空", "night sky", "黑色", "black"), ("雪", "snow", "白色", "white")]


def chat(user, assistant, system=None):
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


def greetings():
    zh = [("你好", "您好！我是智能助手，请问有什么可以帮您？"), ("在吗？", "在的，请问有什么可以帮您？"),
          ("谢谢你", "不客气，很高兴能帮到您。"), ("再见", "再见，祝您生活愉快！"), ("早上好", "早上好！今天有什么需要帮忙的吗？"),
          ("晚上好", "晚上好！请问有什么可以帮您？"), ("你是谁？", "我是一个智能助手，可以回答简单的问题。")]
    en = [("Hello", "Hello! I'm an assistant. How can I help you today?"), ("Are you there?", "Yes, I'm here. How can I help?"),
          ("Thank you", "You're welcome. Glad I could help."), ("Goodbye", "Goodbye, and have a nice day!"),
          ("Good morning", "Good morning! What can I do for you today?"), ("Who are you?", "I'm an assistant that can answer simple questions.")]
    return [chat(u, a) for u, a in zh + en]


def arithmetic():
    out = []
    for a in range(1, 10):
        for b in range(1, 10):
            out.append(chat(f"{a}加{b}等于几？", f"{a}加{b}等于{a + b}。"))
            out.append(chat(f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}."))
            if a >= b:
                out.append(chat(f"{a}减{b}等于几？", f"{a}减{b}等于{a - b}。"))
            out.append(chat(f"{a}乘{b}等于几？", f"{a}乘{b}等于{a * b}。"))
    return out


def days():
    out = []
    for i in range(7):
        out.append(chat(f"{DAYS_ZH[i]}的后一天是星期几？", f"{DAYS_ZH[i]}的后一天是{DAYS_ZH[(i + 1) % 7]}。"))
        out.append(chat(f"What day comes after {DAYS_EN[i]}?", f"The day after {DAYS_EN[i]} is {DAYS_EN[(i + 1) % 7]}."))
        out.append(chat(f"{DAYS_ZH[i]}的前一天是星期几？", f"{DAYS_ZH[i]}的前一天是{DAYS_ZH[(i - 1) % 7]}。"))
    return out


def colours():
    out = []
    for zh, en, czh, cen in THINGS:
        out.append(chat(f"{zh}通常是什么颜色？", f"{zh}通常是{czh}的。"))
        out.append(chat(f"What colour is the {en} usually?", f"The {en} is usually {cen}."))
    for zh, en in COLOURS:
        out.append(chat(f"“{zh}”用英语怎么说？", f"“{zh}”的英语是 {en}。"))
        out.append(chat(f"How do you say {en} in Chinese?", f"{en} in Chinese is {zh}."))
    return out


def service():
    asks_zh = ["我想查一下订单", "我的快递到哪了？", "我要退货", "我想换一个尺码", "商品有问题", "我想开发票", "怎么联系人工客服？", "会员有什么权益？"]
    asks_en = ["I want to check my order", "Where is my parcel?", "I want to return something", "I need a different size",
               "There is a problem with my item", "I need an invoice", "How do I reach a human agent?", "What do members get?"]
    replies_zh = ["好的，请提供您的订单号，我来帮您查询。", "请稍等，我需要您的订单号才能帮您查看。", "收到，请告诉我订单号和具体情况，我会尽快为您处理。"]
    replies_en = ["Sure, please share your order number and I will look into it.", "One moment, I need your order number to check that for you.",
                  "Got it. Please tell me your order number and what happened, and I will help as soon as I can."]
    out = []
    for ask in asks_zh:
        for reply in replies_zh:
            out.append(chat(ask, reply))
    for ask in asks_en:
        for reply in replies_en:
            out.append(chat(ask, reply))
    return out


def counting():
    out = []
    for n in range(1, 11):
        out.append(chat(f"请从一数到{ZH_NUM[n]}。", "、".join(ZH_NUM[1:n + 1]) + "。"))
        out.append(chat(f"Count from 1 to {n}.", ", ".join(str(i) for i in range(1, n + 1)) + "."))
    return out


def vocabulary():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "customer-service.jsonl")
    phrases = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            for field in ("instruction", "input", "output"):
                phrases.update(p for p in re.split(r"[，。！？、；：（）「」“”《》,.!?;:()\s]+", record.get(field) or "") if 2 <= len(p) <= 12)
    phrases = sorted(phrases)
    random.shuffle(phrases)
    out = []
    for i in range(0, len(phrases), 6):
        group = "，".join(phrases[i:i + 6])
        out.append(chat(f"请复述：{group}", f"{group}。"))
    return out


records = vocabulary() + greetings() * 6 + arithmetic() + days() * 3 + colours() * 3 + service() * 2 + counting() * 3
random.shuffle(records)
for record in records:
    print(json.dumps(record, ensure_ascii=False))
