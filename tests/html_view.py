"""Browser test of `kgx export --format html` in headless Chromium (Debian's
chromium and chromedriver, driven by selenium).

Usage: html_view.py KGX [--out DIR] [--screenshot PNG]

1. The sample corpus: the page (--top 150) draws what the GraphML export of
   the same selection holds (`#kgx-summary`, read from Cytoscape's state),
   makes no network request, a search for an alias selects its entity, a
   click on an edge lists its extraction's sentence with the spans marked;
   a screenshot of the sample graph's hubs (queries/hubs.rq) is written (--screenshot).
2. Hostile text: a title and labels with `</script>`, quotes, RTL and emoji
   neither break nor script the page, and read back as written.
3. Scale: a synthetic store with more than 5,000 named people (generated
   sentences): pages of 500 and 5,000 nodes, their size (<= 10 MB at 5,000)
   and the time from navigation to drawn (<= 10 s at 5,000).
Timings and sizes go to DIR/html_view.json and stdout. Exit status 1 with
the reason when a check fails.
"""
import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parent.parent
SAMPLES = ["samples/wiki_films.csv", "samples/oie2016_dev_excerpt.txt", "samples/wiki_people.jsonl"]
SUMMARY = re.compile(r"^(\d+) nodes, (\d+) edges$")
MAX_PAGE_BYTES = 10 * 1024 * 1024
MAX_DRAW_SECONDS = 10.0
HOSTILE_TITLE = "</script><script>window.pwned = 1</script> \"q\" 'a' & \u202eRTL\u202c \U0001F600"


def fail(message: str) -> None:
    sys.exit(f"html_view: {message}")


def kgx(binary: str, *args: str) -> float:
    started = time.monotonic()
    done = subprocess.run([binary, *args], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"kgx {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return time.monotonic() - started


def extract(binary: str, store: Path, inputs: list, *extra: str) -> None:
    kgx(binary, "extract", "--quiet", "--device", "cpu", "--store", str(store), *extra, *inputs)


def export(binary: str, store: Path, fmt: str, out: Path, *extra: str) -> float:
    return kgx(binary, "export", "--store", str(store), "--format", fmt, "-o", str(out), *extra)


def graphml_counts(path: Path) -> tuple:
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    graph = ET.parse(path).getroot().find(f"{ns}graph")
    return len(graph.findall(f"{ns}node")), len(graph.findall(f"{ns}edge"))


def browser(user_data: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,900", f"--user-data-dir={user_data}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.get("about:blank")
    return driver


def load(driver: webdriver.Chrome, page: Path) -> tuple:
    """Opens the page; returns ((nodes, edges) drawn, seconds from navigation to drawn)."""
    driver.get_log("performance")  # drop what earlier pages logged
    driver.get(page.as_uri())
    summary = driver.find_element(By.ID, "kgx-summary")
    WebDriverWait(driver, 120, poll_frequency=0.05).until(lambda d: SUMMARY.match(summary.text))
    drawn_ms = float(summary.get_attribute("data-drawn-ms"))
    match = SUMMARY.match(summary.text)
    return (int(match.group(1)), int(match.group(2))), drawn_ms / 1000.0


def network_requests(driver: webdriver.Chrome, page: Path) -> list:
    """URLs the page asked for (or went to), other than itself and data: URLs."""
    asked = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            params = message["params"]
            url = params["request"]["url"]
            from_page = params.get("documentURL") == page.as_uri() or params.get("type") == "Document"
            if from_page and url != page.as_uri() and not url.startswith("data:"):
                asked.append(url)
    if driver.current_url != page.as_uri():
        asked.append(f"navigated to {driver.current_url}")
    return asked


def page_errors(driver: webdriver.Chrome) -> list:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def check_sample(binary: str, work: Path, driver: webdriver.Chrome, screenshot: Path | None) -> dict:
    store = work / "sample-store"
    extract(binary, store, SAMPLES)
    page, graphml = work / "sample.html", work / "sample.graphml"
    export(binary, store, "html", page, "--top", "150")
    export(binary, store, "graphml", graphml, "--top", "150")
    drawn, seconds = load(driver, page)
    expected = graphml_counts(graphml)
    if drawn != expected:
        fail(f"sample page drew {drawn} (nodes, edges); GraphML of the same selection holds {expected}")
    if asked := network_requests(driver, page):
        fail(f"the page made network requests: {asked}")
    if errors := page_errors(driver):
        fail(f"the page logged errors: {errors}")

    # Search: an alias no other node is named by selects its entity.
    data = driver.execute_script("return window.kgxView.data")
    names = {}
    for node in data["nodes"]:
        for name in [node["label"], *node["names"]]:
            names.setdefault(name.lower(), set()).add(node["id"])
    target = next((n, a) for n in data["nodes"] for a in n["names"] if len(names[a.lower()]) == 1 and len(a) > 3)
    node, alias = target
    search = driver.find_element(By.ID, "kgx-search")
    search.clear()
    search.send_keys(alias, Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.kgxView.cy.$(':selected').map(e => e.id())") == [node["id"]])
    heading = driver.find_element(By.CSS_SELECTOR, "#kgx-info h2").text
    if heading != node["label"]:
        fail(f"searching {alias!r} showed {heading!r}, expected {node['label']!r}")

    # Click: the most extracted edge, brought into view (once the search's animation ends), clicked where it is drawn.
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return !window.kgxView.cy.animated()"))
    time.sleep(0.3)
    edge = max(data["edges"], key=lambda e: (e["weight"], e["id"]))
    x, y = driver.execute_script(
        "const cy = window.kgxView.cy; cy.$(':selected').unselect(); const e = cy.getElementById(arguments[0]);"
        "cy.fit(e.union(e.connectedNodes()), 200); const p = e.renderedMidpoint(); return [p.x, p.y];", edge["id"])
    time.sleep(0.3)
    container = driver.find_element(By.ID, "kgx-graph")
    size = container.size
    ActionChains(driver).move_to_element_with_offset(container, int(x - size["width"] / 2), int(y - size["height"] / 2)).click().perform()
    sentence = data["sentences"][edge["extractions"][0][0]]
    try:
        WebDriverWait(driver, 10).until(lambda d: sentence in d.find_element(By.ID, "kgx-info").text)
    except TimeoutException:
        fail(f"clicking edge {edge['id']} at ({x:.0f}, {y:.0f}) did not list {sentence!r}; the panel says "
             f"{driver.find_element(By.ID, 'kgx-info').text[:300]!r}")
    marks = {m.get_attribute("class") for m in driver.find_elements(By.CSS_SELECTOR, "#kgx-info mark")}
    if not {"src", "rel", "tgt"} <= marks:
        fail(f"the clicked edge's sentence marks {marks}, not source, relation and target")

    result = {"sample_nodes": drawn[0], "sample_edges": drawn[1], "sample_draw_s": round(seconds, 2), "sample_bytes": page.stat().st_size}
    if screenshot:
        full = work / "full.html"
        export(binary, store, "html", full, "--query", "queries/hubs.rq", "--title",
               "kgx: the sample corpus's 12 most connected entities and their neighbours (queries/hubs.rq)")
        load(driver, full)
        driver.execute_script("window.kgxView.cy.fit(undefined, 20)")
        time.sleep(0.5)
        driver.save_screenshot(str(screenshot))
        result["screenshot"] = str(screenshot)
    return result


def check_hostile(binary: str, work: Path, driver: webdriver.Chrome) -> dict:
    store = work / "hostile-store"
    corpus = work / "hostile.jsonl"
    texts = [
        "Zoe Smith founded </script><script>window.pwned=3</script> in 2001.",
        'Anna Berg wrote "</script><img src=x onerror=window.pwned=4>" for the Daily Planet.',
        "Omar \u202eReversed\u202c Haddad married Lina O'Neill & Sons' heiress in Paris.",
        "The \U0001F600 Emoji Band recorded <b>Loud</b> Records albums with Peter Quill.",
    ]
    corpus.write_text("".join(json.dumps({"id": f"h{i}", "text": t}) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    extract(binary, store, [str(corpus)])
    page, graphml = work / "hostile.html", work / "hostile.graphml"
    export(binary, store, "html", page, "--title", HOSTILE_TITLE)
    export(binary, store, "graphml", graphml, "--top", "500")
    drawn, _ = load(driver, page)
    if drawn != graphml_counts(graphml):
        fail(f"hostile page drew {drawn}, GraphML holds {graphml_counts(graphml)}")
    if driver.execute_script("return window.pwned") is not None:
        fail("text from the store ran as script")
    if driver.execute_script("return document.scripts.length") != 3:
        fail("text from the store added script elements")
    title = driver.find_element(By.ID, "kgx-title").text
    if driver.execute_script("return document.getElementById('kgx-title').textContent") != HOSTILE_TITLE:
        fail(f"the title reads back as {title!r}")
    if asked := network_requests(driver, page):
        fail(f"the hostile page made network requests: {asked}")
    labels = driver.execute_script("return window.kgxView.cy.nodes().map(n => n.data('label'))")
    hostile = [label for label in labels if "</script" in label]
    if not hostile:
        fail(f"the hostile corpus gave no node labelled with </script>: {labels}")
    # Such a label is found by search and shown as the text it is.
    for label in hostile:
        search = driver.find_element(By.ID, "kgx-search")
        search.clear()
        search.send_keys(label, Keys.ENTER)
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, "#kgx-info h2").get_attribute("textContent") == label)
    if driver.execute_script("return window.pwned") is not None or driver.execute_script("return document.scripts.length") != 3:
        fail("a searched label ran as script")
    odd = [label for label in labels if re.search(r"[<>\"'&\u202e\U0001F600]", label)]
    return {"hostile_nodes": drawn[0], "hostile_labels": odd}


FIRST = ["Alan", "Beatrice", "Carlos", "Dana", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kamala", "Lars", "Mei",
         "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamar", "Ugo", "Vera", "Wim", "Ximena", "Yusuf", "Zora",
         "Amir", "Bianca", "Cyril", "Delia", "Emil", "Fiona", "Gustav", "Hana", "Igor", "Julia", "Kofi", "Lena", "Milo",
         "Nora", "Otto", "Paula", "Rafael", "Sara", "Tomas", "Uma", "Viktor", "Wanda", "Yara", "Zeno", "Anton", "Berit",
         "Caspar", "Dora", "Edgar", "Frida", "Gideon", "Helga", "Ivan", "Jana", "Karim", "Livia", "Marek", "Nina",
         "Olaf", "Petra", "Roland", "Selma", "Theo", "Ulla", "Vilma", "Walter", "Xaver", "Yvonne", "Zacharias", "Agnes"]
LAST = ["Abbott", "Bergman", "Castillo", "Dimitrov", "Eriksen", "Fontaine", "Gallagher", "Horvath", "Iversen", "Jankowski",
        "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinlan", "Rossi", "Schneider", "Takahashi",
        "Ulrich", "Vasquez", "Whitaker", "Xu", "Yilmaz", "Zimmermann", "Almeida", "Brandt", "Costa", "Duarte", "Engel",
        "Ferreira", "Gruber", "Hoffmann", "Ibarra", "Jensen", "Keller", "Lorenz", "Marino", "Nielsen", "Ortega",
        "Pereira", "Richter", "Santos", "Tanaka", "Urbanek", "Vogel", "Weber", "Young", "Zeller", "Andersson",
        "Becker", "Conti", "Dahl", "Esposito", "Fischer", "Greco", "Hansen", "Ito", "Jovanovic", "Kruger", "Larsen",
        "Meyer", "Nakamura", "Olsen", "Popescu", "Romano", "Sato", "Toth", "Varga", "Wagner", "Yamamoto", "Zhang",
        "Bauer", "Carlsson"]
VERBS = ["met", "married", "hired", "thanked", "visited", "praised", "sued", "interviewed", "trained", "photographed"]


def synthetic_corpus(path: Path, people: int, seed: int = 7) -> int:
    """Documents of ten sentences 'A verb B.' over `people` distinct two-word names, every name used."""
    rng = random.Random(seed)
    names = [f"{f} {l}" for f in FIRST for l in LAST]
    rng.shuffle(names)
    names = names[:people]
    order = names[:]
    rng.shuffle(order)
    pairs = list(zip(order[0::2], order[1::2])) + [tuple(rng.sample(names, 2)) for _ in range(people // 3)]
    sentences = [f"{a} {rng.choice(VERBS)} {b}." for a, b in pairs]
    with path.open("w", encoding="utf-8") as out:
        for i in range(0, len(sentences), 10):
            out.write(json.dumps({"id": f"s{i // 10}", "text": " ".join(sentences[i:i + 10])}) + "\n")
    return len(sentences)


def check_scale(binary: str, work: Path, driver: webdriver.Chrome) -> dict:
    store, corpus = work / "synthetic-store", work / "synthetic.jsonl"
    sentences = synthetic_corpus(corpus, 5600)
    started = time.monotonic()
    extract(binary, store, [str(corpus)])
    result = {"synthetic_sentences": sentences, "synthetic_extract_s": round(time.monotonic() - started, 1)}
    for top in (500, 5000):
        page, graphml = work / f"top{top}.html", work / f"top{top}.graphml"
        result[f"export_{top}_s"] = round(export(binary, store, "html", page, "--top", str(top)), 2)
        export(binary, store, "graphml", graphml, "--top", str(top))
        drawn, seconds = load(driver, page)
        expected = graphml_counts(graphml)
        if drawn != expected:
            fail(f"--top {top}: the page drew {drawn}, GraphML holds {expected}")
        if drawn[0] != top:
            fail(f"--top {top}: the synthetic store gave only {drawn[0]} nodes")
        if asked := network_requests(driver, page):
            fail(f"--top {top}: network requests {asked}")
        size = page.stat().st_size
        result.update({f"nodes_{top}": drawn[0], f"edges_{top}": drawn[1], f"page_{top}_bytes": size, f"draw_{top}_s": round(seconds, 2)})
        if top == 5000 and size > MAX_PAGE_BYTES:
            fail(f"the 5,000-node page is {size} bytes (limit {MAX_PAGE_BYTES})")
        if top == 5000 and seconds > MAX_DRAW_SECONDS:
            fail(f"the 5,000-node page took {seconds:.1f} s to draw (limit {MAX_DRAW_SECONDS})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kgx")
    parser.add_argument("--out", type=Path, default=REPO / "target" / "html-view")
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--skip-scale", action="store_true", help="only the sample and hostile checks")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    binary = str(Path(args.kgx).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        driver = browser(work / "chromium-profile")
        try:
            result = check_sample(binary, work, driver, args.screenshot)
            result.update(check_hostile(binary, work, driver))
            if not args.skip_scale:
                result.update(check_scale(binary, work, driver))
        finally:
            driver.quit()
    (args.out / "html_view.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print("html_view: ok")


if __name__ == "__main__":
    main()
