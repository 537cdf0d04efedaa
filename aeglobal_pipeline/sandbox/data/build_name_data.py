"""Developer tool (not imported at run time): rebuilds given_names.csv and family_names.csv.

Heads (the most common names of each locale, in rank order) are written here by hand from public
name statistics. Tails come from the MIT-licensed Faker name lists
(https://github.com/joke2k/faker), with Faker's own frequency weights where it has them; otherwise
one Zipf–Mandelbrot curve (weight ∝ 1/(rank + offset)) runs over head then tail. Korean given
names are romanised (Revised Romanisation, syllable by syllable).
Run with a Python that has `faker` installed:

    python aeglobal_pipeline/sandbox/data/build_name_data.py
"""

from __future__ import annotations

import csv
import importlib
import random
from pathlib import Path

HERE = Path(__file__).parent

# locale → Faker person provider that supplies the tail
LOCALES = {
    "de": "de_DE",
    "fr": "fr_FR",
    "en_gb": "en_GB",
    "en_us": "en_US",
    "es": "es_ES",
    "it": "it_IT",
    "pl": "pl_PL",
    "nl": "nl_NL",
    "pt": "pt_BR",
    "in": "en_IN",
}

GIVEN_HEADS = {
    ("de", "m"): "Thomas Michael Andreas Stefan Christian Daniel Markus Alexander Peter Frank Jan "
    "Sebastian Tobias Matthias Martin Florian Jens Jürgen Uwe Jörg Klaus Wolfgang Torsten Dirk Sven "
    "Lukas Felix Maximilian Hans-Jürgen Karl-Heinz Bernd Ralf",
    ("de", "f"): "Sabine Andrea Claudia Stefanie Nicole Julia Katrin Anja Susanne Petra Melanie "
    "Sandra Christina Katharina Anna Birgit Monika Ursula Jana Lena Sarah Jessica Laura Franziska "
    "Jennifer Anke Elisabeth Christiane",
    ("fr", "m"): "Jean Philippe Nicolas Pierre Christophe Stéphane Laurent Sébastien Julien Thomas "
    "François Frédéric David Olivier Éric Patrick Alexandre Antoine Michel Jérôme Guillaume Mathieu",
    ("fr", "f"): "Marie Nathalie Isabelle Sylvie Catherine Sandrine Valérie Christine Céline Julie "
    "Sophie Aurélie Camille Émilie Anne Stéphanie Caroline Hélène Élodie Léa Chloé Zoé",
    ("en_gb", "m"): "David John Paul Mark James Andrew Michael Richard Peter Daniel Christopher "
    "Robert Stephen Simon Thomas Matthew William Ian Gary Alexander Oliver Jonathan",
    ("en_gb", "f"): "Sarah Susan Claire Emma Helen Nicola Karen Julie Rachel Laura Elizabeth "
    "Catherine Louise Joanne Rebecca Amanda Victoria Charlotte Jennifer Lucy Sophie Zoë",
    ("es", "m"): "Antonio José Manuel Francisco David Juan Javier Daniel Carlos Jesús Alejandro "
    "Miguel Rafael Pablo Sergio Fernando Jorge Luis Alberto Álvaro Ángel Diego",
    ("es", "f"): "María Carmen Ana Isabel Laura Cristina Marta Lucía Elena Pilar Paula Sara Raquel "
    "Rosa Silvia Patricia Beatriz Andrea Mónica Nuria Irene Sofía",
    ("it", "m"): "Giuseppe Giovanni Antonio Mario Luca Marco Francesco Alessandro Andrea Roberto "
    "Stefano Paolo Davide Matteo Simone Massimo Fabio Lorenzo Riccardo Federico Nicola",
    ("it", "f"): "Maria Anna Giulia Francesca Sara Chiara Laura Valentina Elena Paola Alessandra "
    "Federica Silvia Martina Roberta Giorgia Elisa Cristina Simona Barbara",
    ("pl", "m"): "Piotr Krzysztof Tomasz Andrzej Paweł Michał Marcin Jakub Adam Łukasz Grzegorz "
    "Mateusz Wojciech Mariusz Dariusz Marek Kamil Jan Maciej Rafał Szymon Aleksander",
    ("pl", "f"): "Anna Katarzyna Maria Małgorzata Agnieszka Barbara Ewa Magdalena Joanna Aleksandra "
    "Monika Krystyna Zofia Natalia Karolina Justyna Beata Dorota Paulina Marta",
    ("nl", "m"): "Jan Peter Johannes Hendrik Kees Dirk Willem Thomas Daan Bas Ruben Sander Jeroen "
    "Martijn Stefan Bram Lucas Joost Niels Pieter",
    ("nl", "f"): "Maria Anna Johanna Sanne Lisa Anouk Emma Laura Linda Esther Iris Femke Eva Sophie "
    "Marieke Ingrid Kim Fleur Lotte Julia",
    ("pt", "m"): "José João Antônio Francisco Carlos Paulo Pedro Lucas Luiz Marcos Luís Gabriel "
    "Rafael Daniel Marcelo Bruno Eduardo Felipe Rodrigo Gustavo Thiago",
    ("pt", "f"): "Maria Ana Francisca Antônia Adriana Juliana Márcia Fernanda Patrícia Aline Sandra "
    "Camila Amanda Bruna Jéssica Letícia Júlia Luciana Vanessa Mariana Beatriz",
    ("in", "m"): "Rahul Amit Rajesh Suresh Ramesh Sanjay Vijay Anil Sunil Arun Deepak Ravi Ajay "
    "Manoj Rakesh Vikram Arjun Rohit Karthik Srinivas Venkatesh Mohammed",
    ("in", "f"): "Priya Pooja Anjali Neha Sunita Lakshmi Kavita Divya Swati Deepa Anita Meena Rekha "
    "Shreya Sneha Aishwarya Lata Radha Nisha Kavya",
}

FAMILY_HEADS = {
    "de": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange "
    "Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter "
    "Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert",
    "fr": "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefèvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau "
    "Vincent Müller Lefebvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François",
    "es": "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez "
    "Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez "
    "Ramos Gil Ramírez Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio Marín",
    "it": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti "
    "De Luca Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi "
    "Caruso Ferrara Galli Martini Leone",
    "pl": "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
    "Woźniak Dąbrowski Kozłowski Jankowski Mazur Wojciechowski Kwiatkowski Krawczyk Kaczmarek "
    "Piotrowski Grabowski Zając Pawłowski Michalski Król Wieczorek Jabłoński Wróbel Nowakowski "
    "Majewski Olszewski Stępień Malinowski Jaworski Adamczyk Dudek Nowicki Pawlak Górski Witkowski",
    "nl": "de Jong Jansen de Vries van den Berg van Dijk Bakker Janssen Visser Smit Meijer de Boer "
    "Mulder de Groot Bos Vos Peters Hendriks van Leeuwen Dekker Brouwer de Wit Dijkstra Smits "
    "de Graaf van der Meer van der Linden Kok Jacobs de Haan Vermeulen van den Heuvel",
    "pt": "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro "
    "Martins Carvalho Almeida Lopes Soares Fernandes Vieira Barbosa Rocha Dias Nascimento Andrade "
    "Moreira Nunes Marques Machado Mendes Freitas Cardoso",
    "in": "Kumar Singh Sharma Patel Gupta Shah Reddy Rao Verma Das Nair Iyer Joshi Mehta Agarwal "
    "Mishra Pillai Menon Chopra Malhotra Bose Banerjee Chatterjee Mukherjee Desai Jain Khan Naidu "
    "Srinivasan Krishnan Subramanian Yadav Pandey Tiwari Saxena",
}

# Korean surnames: romanisation variants are frequent in real data (Lee/Yi/Rhee), kept in names.py.
KO_FAMILY = [
    ("Kim", "김", 21.5),
    ("Lee", "이", 14.7),
    ("Park", "박", 8.4),
    ("Choi", "최", 4.7),
    ("Jung", "정", 4.3),
    ("Kang", "강", 2.3),
    ("Cho", "조", 2.1),
    ("Yoon", "윤", 2.1),
    ("Jang", "장", 2.0),
    ("Lim", "임", 1.7),
    ("Han", "한", 1.5),
    ("Oh", "오", 1.5),
    ("Seo", "서", 1.5),
    ("Shin", "신", 1.4),
    ("Kwon", "권", 1.4),
    ("Hwang", "황", 1.4),
    ("Ahn", "안", 1.3),
    ("Song", "송", 1.3),
    ("Jeon", "전", 1.1),
    ("Hong", "홍", 1.1),
    ("Yoo", "유", 1.1),
    ("Ko", "고", 0.9),
    ("Moon", "문", 0.9),
    ("Yang", "양", 0.9),
    ("Son", "손", 0.9),
    ("Bae", "배", 0.8),
    ("Baek", "백", 0.8),
    ("Heo", "허", 0.6),
    ("Nam", "남", 0.6),
    ("Noh", "노", 0.5),
    ("Ha", "하", 0.5),
    ("Kwak", "곽", 0.4),
    ("Sung", "성", 0.4),
    ("Cha", "차", 0.4),
    ("Joo", "주", 0.4),
    ("Woo", "우", 0.4),
]

ZH_FAMILY = (
    "王Wang 李Li 张Zhang 刘Liu 陈Chen 杨Yang 黄Huang 赵Zhao 吴Wu 周Zhou 徐Xu 孙Sun 马Ma 朱Zhu "
    "胡Hu 郭Guo 何He 高Gao 林Lin 罗Luo 郑Zheng 梁Liang 谢Xie 宋Song 唐Tang 许Xu 韩Han 冯Feng 邓Deng "
    "曹Cao 彭Peng 曾Zeng 肖Xiao 田Tian 董Dong 袁Yuan 潘Pan 于Yu 蒋Jiang 蔡Cai 余Yu 杜Du 叶Ye 程Cheng "
    "苏Su 魏Wei 吕Lyu 丁Ding 任Ren 沈Shen 姚Yao 卢Lu 姜Jiang 崔Cui 钟Zhong 谭Tan 陆Lu 汪Wang 范Fan "
    "金Jin 石Shi 廖Liao 贾Jia 夏Xia 韦Wei 付Fu 方Fang 白Bai 邹Zou 孟Meng 熊Xiong 秦Qin 邱Qiu 江Jiang "
    "尹Yin 薛Xue 闫Yan 段Duan 雷Lei 侯Hou 龙Long 史Shi 陶Tao 黎Li 贺He 顾Gu 毛Mao 郝Hao 龚Gong 邵Shao "
    "万Wan 钱Qian 严Yan 武Wu 戴Dai 莫Mo 孔Kong 向Xiang 汤Tang"
)

# Chinese given names are built from these characters (one or two), see names.py.
ZH_GIVEN_CHARS = {
    "m": "伟Wei 强Qiang 磊Lei 军Jun 洋Yang 勇Yong 杰Jie 涛Tao 明Ming 超Chao 华Hua 建Jian 国Guo "
    "平Ping 刚Gang 辉Hui 鹏Peng 飞Fei 鑫Xin 宇Yu 浩Hao 然Ran 子Zi 轩Xuan 博Bo 文Wen 斌Bin 志Zhi 海Hai "
    "波Bo 峰Feng 亮Liang 龙Long 东Dong 晓Xiao 俊Jun 凯Kai 健Jian 新Xin 成Cheng 天Tian 振Zhen 德De",
    "f": "芳Fang 娜Na 敏Min 静Jing 丽Li 艳Yan 娟Juan 秀Xiu 英Ying 慧Hui 玲Ling 桂Gui 红Hong 霞Xia "
    "欣Xin 怡Yi 婷Ting 雪Xue 琳Lin 晨Chen 涵Han 佳Jia 嘉Jia 琪Qi 思Si 雨Yu 萌Meng 倩Qian 颖Ying 璐Lu "
    "蕾Lei 春Chun 兰Lan 梅Mei 凤Feng 云Yun 晓Xiao 小Xiao 丹Dan 月Yue 洁Jie 燕Yan 莉Li 婉Wan",
}

# Japanese given-name building blocks for the tail: (romaji, katakana).
JA_GIVEN_PARTS = {
    "m_stem": "Hiro:ヒロ Taka:タカ Yoshi:ヨシ Kazu:カズ Masa:マサ Nobu:ノブ Toshi:トシ Ken:ケン "
    "Shin:シン Yu:ユウ Dai:ダイ Ryo:リョウ Sho:ショウ Tetsu:テツ Haru:ハル Kou:コウ Tomo:トモ Aki:アキ",
    "m_suffix": "shi:シ ki:キ to:ト ya:ヤ hiro:ヒロ ta:タ suke:スケ ichi:イチ ji:ジ nori:ノリ "
    "yuki:ユキ kazu:カズ hei:ヘイ go:ゴ",
    "f_stem": "Yu:ユ Mi:ミ Sa:サ Ha:ハ Na:ナ A:ア Ma:マ E:エ Chi:チ Ka:カ Ai:アイ Ri:リ Sa:サ "
    "Yo:ヨ Mo:モ Hi:ヒ",
    "f_suffix": "ko:コ mi:ミ ka:カ na:ナ e:エ ri:リ ki:キ yo:ヨ sa:サ ho:ホ",
}

_RR_INITIAL = [
    "g",
    "kk",
    "n",
    "d",
    "tt",
    "r",
    "m",
    "b",
    "pp",
    "s",
    "ss",
    "-",
    "j",
    "jj",
    "ch",
    "k",
    "t",
    "p",
    "h",
]
_RR_MEDIAL = [
    "a",
    "ae",
    "ya",
    "yae",
    "eo",
    "e",
    "yeo",
    "ye",
    "o",
    "wa",
    "wae",
    "oe",
    "yo",
    "u",
    "wo",
    "we",
    "wi",
    "yu",
    "eu",
    "ui",
    "i",
]
_RR_FINAL = [
    "",
    "k",
    "k",
    "k",
    "n",
    "n",
    "n",
    "t",
    "l",
    "l",
    "l",
    "l",
    "l",
    "l",
    "l",
    "l",
    "m",
    "p",
    "p",
    "t",
    "t",
    "ng",
    "t",
    "t",
    "k",
    "t",
    "p",
    "t",
]


def romanise_hangul(text: str) -> str:
    parts = []
    for char in text:
        code = ord(char) - 0xAC00
        if not 0 <= code < 11172:
            parts.append(char)
            continue
        initial, medial, final = code // 588, (code % 588) // 28, code % 28
        lead = _RR_INITIAL[initial].replace("-", "")
        parts.append(lead + _RR_MEDIAL[medial] + _RR_FINAL[final])
    return "".join(parts).capitalize()


def _zipf(names: list[str], share: float, offset: int = 6) -> list[tuple[str, float]]:
    # Zipf–Mandelbrot: the offset flattens the top so rank 1 holds a few percent, not a tenth.
    raw = [1 / (rank + offset) for rank in range(len(names))]
    total = sum(raw)
    return [(n, share * w / total) for n, w in zip(names, raw, strict=True)]


def _ranked(head: list[str], faker_names, seed: str, offset: int) -> list[tuple[str, float]]:
    """Head in its known rank order, then Faker's list; Faker weights where it has them,
    else one Zipf curve over head + tail (Faker lists are alphabetical: shuffled, fixed seed)."""
    tail = [n for n in dict.fromkeys(faker_names) if n not in set(head) and n.strip()]
    if isinstance(faker_names, dict):
        total = sum(faker_names[n] for n in tail)
        head_share = 0.35 if head else 0.0
        return _zipf(head, head_share, offset) + [
            (n, (1 - head_share) * faker_names[n] / total) for n in tail
        ]
    random.Random(seed).shuffle(tail)
    return _zipf(head + tail, 1.0, offset)


def _split(text: str) -> list[str]:
    # Multi-word names (de Jong, van den Berg, De Luca) are kept together by the particles.
    words, out = text.split(), []
    particles = {"de", "van", "den", "der", "De"}
    buffer: list[str] = []
    for word in words:
        buffer.append(word)
        if word not in particles:
            out.append(" ".join(buffer))
            buffer = []
    return out


def build() -> None:
    given_rows, family_rows = [], []
    for locale, module_name in LOCALES.items():
        provider = importlib.import_module(f"faker.providers.person.{module_name}").Provider
        for gender, attr in (("m", "first_names_male"), ("f", "first_names_female")):
            head = _split(GIVEN_HEADS.get((locale, gender), ""))
            rows = _ranked(head, getattr(provider, attr), locale + gender, offset=6)
            given_rows += [(locale, gender, n, w, "", "") for n, w in rows]
        faker_family = provider.last_names
        if hasattr(provider, "unisex_last_names"):  # pl_PL keeps its surnames in two lists
            faker_family = list(provider.male_last_names) + list(provider.unisex_last_names)
        rows = _ranked(_split(FAMILY_HEADS.get(locale, "")), faker_family, locale + "family", 15)
        family_rows += [(locale, n, w, "", "") for n, w in rows]

    ja = importlib.import_module("faker.providers.person.ja_JP").Provider
    for gender, pairs in (("m", ja.first_name_male_pairs), ("f", ja.first_name_female_pairs)):
        names = [p[2] for p in pairs]
        for (kanji, kana, romaji), (_, w) in zip(pairs, _zipf(names, 1.0), strict=True):
            given_rows.append(("ja", gender, romaji, w, kanji, kana))
    total = sum(ja.last_name_pairs.values())
    for (kanji, kana, romaji), count in ja.last_name_pairs.items():
        family_rows.append(("ja", romaji, count / total, kanji, kana))

    ko = importlib.import_module("faker.providers.person.ko_KR").Provider
    for gender, attr in (("m", "first_names_male"), ("f", "first_names_female")):
        names = getattr(ko, attr)
        total = sum(names.values())
        for hangul, w in names.items():
            given_rows.append(("ko", gender, romanise_hangul(hangul), w / total, hangul, ""))
    total = sum(w for *_, w in KO_FAMILY)
    family_rows += [("ko", n, w / total, h, "") for n, h, w in KO_FAMILY]

    zh_faker = importlib.import_module("faker.providers.person.zh_CN").Provider.last_names
    for item in ZH_FAMILY.split():
        hanzi, pinyin = item[0], item[1:]
        family_rows.append(("zh", pinyin, float(zh_faker.get(hanzi, 0.05)), hanzi, ""))
    for gender, chars in ZH_GIVEN_CHARS.items():
        for item in _zipf(chars.split(), 1.0):
            given_rows.append(("zh_char", gender, item[0][1:], item[1], item[0][0], ""))
    for kind, parts in JA_GIVEN_PARTS.items():
        for part in parts.split():
            romaji, kana = part.split(":")
            given_rows.append(("ja_part", kind, romaji, 1.0, "", kana))

    with (HERE / "given_names.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["locale", "gender", "name", "weight", "native", "kana"])
        writer.writerows((*r[:3], f"{r[3]:.6g}", *r[4:]) for r in given_rows)
    with (HERE / "family_names.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["locale", "name", "weight", "native", "kana"])
        writer.writerows((*r[:2], f"{r[2]:.6g}", *r[3:]) for r in family_rows)


if __name__ == "__main__":
    build()
