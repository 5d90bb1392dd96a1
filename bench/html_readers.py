"""Our hand-written HTML reader against trafilatura on news pages with boilerplate (issue 14).

Four pages written here (two Arabic, two English), each an article of known sentences inside what news
sites wrap around it: a menu, breadcrumbs, a cookie banner, share buttons, a "most read" list, comments,
a newsletter box and a footer. For each reader: the share of the article's sentences found in its text
(recall), the boilerplate lines that leaked into it, and the title, source and date it found.

    python -m bench.html_readers [--out FILE]
"""

from __future__ import annotations

import sys
import time

from assistant.ingest import html as markup
from bench.common import arguments, write_result

BOILER = {
    "ar": ["الرئيسية", "سياسة", "اقتصاد", "رياضة", "نستخدم ملفات تعريف الارتباط لتحسين تجربتك", "شارك على فيسبوك",
           "الأكثر قراءة", "ارتفاع أسعار الذهب في الأسواق المحلية", "اشترك في النشرة البريدية",
           "جميع الحقوق محفوظة لوكالة الأنباء 2019", "تعليقات القراء", "مقال رائع شكرا للكاتب"],
    "en": ["Home", "Politics", "Business", "Sport", "We use cookies to improve your experience", "Share on Facebook",
           "Most read", "Gold prices rise in local markets", "Sign up for our newsletter",
           "All rights reserved, News Agency 2019", "Reader comments", "Great article, thanks to the author"],
}
ARTICLES = {
    "ar-1": ("ar", "محادثات الدوحة تستأنف الاثنين", "وكالة الأنباء", "2019-06-12", [
        "قال المتحدث باسم الوفد إن المحادثات ستستأنف في الدوحة يوم الاثنين المقبل.",
        "وأضاف أن الوفدين سيبحثان جدولا زمنيا لانسحاب القوات الأجنبية.",
        "وكانت الجولة السابقة قد انتهت دون اتفاق بعد ستة أيام من النقاش.",
        "ويقدر عدد الجنود الأجانب في البلاد بأكثر من عشرين ألف جندي."]),
    "ar-2": ("ar", "أرباح قياسية لشركة الألمنيوم", "صحيفة الاقتصاد", "2019-03-02", [
        "حققت شركة الإمارات العالمية للألمنيوم أرباحا صافية بلغت ثلاثمئة مليون درهم في عام 2019.",
        "وعزت الشركة ذلك إلى ارتفاع الطلب في الأسواق الآسيوية.",
        "وتخطط الشركة لتوسيع مصهرها في الطويلة خلال العامين المقبلين."]),
    "en-1": ("en", "Doha talks to resume on Monday", "News Agency", "2019-06-12", [
        "The delegation's spokesman said the talks would resume in Doha next Monday.",
        "He added that both sides would discuss a timetable for the withdrawal of foreign troops.",
        "The previous round ended without agreement after six days of discussion.",
        "More than twenty thousand foreign soldiers are estimated to be in the country."]),
    "en-2": ("en", "Record profit for the aluminium maker", "Business Daily", "2019-03-02", [
        "Emirates Global Aluminium made a net profit of 300 million dirhams in 2019.",
        "The company put it down to rising demand in Asian markets.",
        "It plans to expand its smelter at Al Taweelah over the next two years."]),
}


def page(lang: str, title: str, site: str, date: str, sentences: list[str]) -> str:
    b = BOILER[lang]
    dir_ = "rtl" if lang == "ar" else "ltr"
    paras = "".join(f"<p>{s}</p>" for s in sentences)
    return f"""<!doctype html><html lang="{lang}" dir="{dir_}"><head><title>{title} | {site}</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="{site}">
<meta property="article:published_time" content="{date}T08:30:00+03:00"></head><body>
<header><nav><ul><li><a href="/">{b[0]}</a></li><li><a href="/p">{b[1]}</a></li><li><a href="/e">{b[2]}</a></li>
<li><a href="/s">{b[3]}</a></li></ul></nav><div class="cookie-banner"><p>{b[4]}</p><button>OK</button></div></header>
<div class="breadcrumbs"><a href="/">{b[0]}</a> › <a href="/p">{b[1]}</a></div>
<main><article><h1>{title}</h1><div class="byline">{site} · {date}</div>{paras}
<div class="share"><a href="#">{b[5]}</a></div></article>
<aside><h3>{b[6]}</h3><ul><li><a href="/x">{b[7]}</a></li></ul><div class="newsletter"><p>{b[8]}</p></div></aside>
<section class="comments"><h3>{b[10]}</h3><div class="comment"><p>{b[11]}</p></div></section></main>
<footer><p>{b[9]}</p></footer></body></html>"""


def ours(html: str) -> tuple[str, dict]:
    return markup.visible_text(html)  # the hand-written reader (what html_to_text was before)


def trafilatura_reader(html: str) -> tuple[str, dict]:
    return markup.main_text(html) or ("", {})  # trafilatura alone, as html_to_text calls it


def score(text: str, sentences: list[str], lang: str) -> tuple[float, list[str]]:
    found = sum(s in text for s in sentences) / len(sentences)
    leaked = [b for b in BOILER[lang] if any(line.strip() == b or b in line for line in text.split("\n"))]
    return found, leaked


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, data=False).parse_args(argv)
    readers = {"ours (markup.visible_text)": ours, "trafilatura": trafilatura_reader,
               "html_to_text (now: trafilatura, else ours)": markup.html_to_text}
    print("| page | reader | article sentences found | boilerplate lines leaked | title | source | date | ms |")
    print("|---|---|---:|---:|---|---|---|---:|")
    totals = {r: [0.0, 0] for r in readers}
    rows = []
    for name, (lang, title, site, date, sents) in ARTICLES.items():
        html = page(lang, title, site, date, sents)
        for rname, read in readers.items():
            t = time.perf_counter()
            text, meta = read(html)
            ms = (time.perf_counter() - t) * 1000
            found, leaked = score(text, sents, lang)
            totals[rname][0] += found
            totals[rname][1] += len(leaked)
            rows.append({"page": name, "reader": rname, "found": found, "leaked": leaked, "meta": meta, "ms": ms})
            print(f"| {name} | {rname} | {found:.2f} | {len(leaked)} | {meta.get('title', '')} | {meta.get('source', '')} "
                  f"| {meta.get('date', '')} | {ms:.0f} |")
    for rname, (found, leaked) in totals.items():
        print(f"{rname}: sentences found {found / len(ARTICLES):.2f} on average, {leaked} boilerplate lines leaked in all")
    write_result(args.out, None, args, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
