"""Spend pages: upload with CSRF and roles, review, import, report, drill-down, resolving suppliers."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mapping.spend.reading import whole_pounds
from mapping.spend.store import import_spend
from mapping.store.database import Store
from tests.web.conftest import csrf_token, form_data

JUNE = Path("spend") / "lambeth" / "lambeth_payments_over_500_2012-06_raw.csv"
MAY = Path("spend") / "lambeth" / "lambeth_supplier_totals_2012-05_raw.csv"


def _upload(client: FlaskClient, content: bytes, name: str = "june.csv"):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/spend/upload").get_data(as_text=True))
    return client.post("/spend/upload", data={
        "csrf_token": token, "encoding": "utf-8",
        "file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def _finished(client: FlaskClient, progress_url: str, *, timeout_s: float = 60) -> str:
    """Poll the import's status (as the progress page does) until it ends; give the page."""
    status_url = progress_url.replace("/progress", "/status")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(status_url).get_json()
        if status["finished"]:
            return client.get(progress_url).get_data(as_text=True)
        time.sleep(0.1)
    raise AssertionError(f"the import at {progress_url} did not finish in {timeout_s} s")


def _text(html: str) -> str:
    """Give what a person reads: the page without its tags, scripts and attributes."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_upload_needs_an_officer_and_a_csrf_token(client: FlaskClient,
                                                  client_as: Callable[..., FlaskClient]) -> None:
    assert client.get("/spend/upload").status_code in (302, 401)
    assert client_as("viewer", "v").get("/spend/upload").status_code == 403
    officer = client_as("officer", "o")
    response = officer.post("/spend/upload", data={
        "encoding": "utf-8", "file": (io.BytesIO(b"Supplier,Amount\nA,1.00\n"), "a.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "CSRF" in response.get_data(as_text=True)


def test_upload_review_and_import_the_real_lambeth_file(
        client_as: Callable[..., FlaskClient], data_dir: Path) -> None:
    officer = client_as("officer", "o")
    response = _upload(officer, (data_dir / JUNE).read_bytes(), JUNE.name)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Header on line 10" in page
    assert "£40,292,334.84 = the file&#39;s own total £40,292,334.84" in page
    assert "Catch2212/06/2012" in page  # a repaired line, shown as it was in the file
    data = form_data(page, "/spend/upload/import")
    assert "Invoice Nett Amount=amount" in data["mapping"]
    data.update(name="Lambeth June 2012", licence="OGL v3",
                publisher="London Borough of Lambeth")
    response = officer.post("/spend/upload/import", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    progress = response.headers["Location"]
    assert "/progress" in progress
    done = _finished(officer, progress)
    assert "Imported £40,292,334.84 = the file&#39;s own total" in done
    assert "820 suppliers: 6 same name, 3 similar name, 811 not matched" in done
    report_url = re.search(r'id="open-report" href="([^"]+)"', done)
    assert report_url is not None
    report = officer.get(report_url.group(1)).get_data(as_text=True)
    assert "to the penny" in report and "OGL v3" in report
    assert "Open Government Licence v3.0: London Borough of Lambeth" in report
    assert "Lambeth Living Ltd" in report  # the top extractive supplier by name inference
    again = officer.post("/spend/upload/import", data=data)
    assert again.status_code == 404  # the upload was used up


def test_a_bad_file_is_not_imported_and_every_problem_is_listed(
        client_as: Callable[..., FlaskClient], demo_store: Store) -> None:
    officer = client_as("officer", "o")
    page = _upload(officer, b"Supplier,Date,Amount\nAcme,01/06/2024,abc\n,02/06/2024,5.00\n"
                   ).get_data(as_text=True)
    data = form_data(page, "/spend/upload/import")
    data["name"] = "bad"
    response = officer.post("/spend/upload/import", data=data)
    assert response.status_code == 303
    text = _finished(officer, response.headers["Location"])
    assert "2 line(s) rejected, nothing imported" in text
    assert "line 2, amount: " in text and "line 3, supplier: the supplier name is blank" in text
    assert "field &#39;" not in text and "supplier_name" not in _text(text)
    with demo_store.transaction() as session:
        from mapping.spend.store import datasets_frame
        assert datasets_frame(session).empty
    again = re.search(r'id="check-again" href="([^"]+)"', text)
    assert again is not None
    retry = officer.get(again.group(1)).get_data(as_text=True)  # the form as it was filled in
    data = form_data(retry, "/spend/upload/import")
    assert data["name"] == "bad" and "Amount=amount" in data["mapping"]
    data["skip_invalid"] = "y"
    data["mapping"] = "Amount=nonsense"
    refused = officer.post("/spend/upload/import", data=data)
    assert refused.status_code == 422
    assert "&#39;nonsense&#39; is not one of our columns (body, department, service, supplier, " \
        "payment date, amount" in refused.get_data(as_text=True)
    # Our columns by their plain names or by their codes (as the command line has them).
    data["mapping"] = "Supplier=supplier\nDate=paid_on\nAmount=Amount"
    kept = officer.post("/spend/upload/import", data=data)
    assert kept.status_code == 303  # --skip-invalid: the valid line in, the rest reported
    done = _finished(officer, kept.headers["Location"])
    report = re.search(r'id="open-report" href="([^"]+)"', done)
    assert report is not None
    cleaning = officer.get(report.group(1).rstrip("/") + "/cleaning?status=rejected")
    text = cleaning.get_data(as_text=True)
    assert "1 rejected" not in text and "2 rejected" in text and "the supplier name is blank" in text
    no_header = _upload(officer, b"just,some\ntext,here\n")
    assert no_header.status_code == 422
    assert "no header row" in no_header.get_data(as_text=True)


def test_report_drill_downs_add_up_to_the_figures(client_as: Callable[..., FlaskClient],
                                                  demo_store: Store, data_dir: Path) -> None:
    client = client_as("viewer")  # sixty pages in a row: staff are not rate-limited
    result = import_spend(demo_store, data_dir / JUNE, name="Lambeth June 2012",
                          imported_by="test", licence="OGL v3")
    page = client.get(f"/spend/{result.dataset_id}").get_data(as_text=True)
    links = re.findall(r'<a href="(/spend/\d+/payments\?[^"]+)">(-?£[\d,]+)</a>', page)
    assert len(links) > 40
    care = client.get(f"/spend/{result.dataset_id}?top_in=adult+care").get_data(as_text=True)
    care_links = re.findall(r'<a href="(/spend/\d+/payments\?[^"]+)">(-?£[\d,]+)</a>',
                            care.split('id="top-extractive"')[1].split("</table>")[0])
    assert len(care_links) == 10
    for url, figure in links[:60] + care_links:
        drill = client.get(url.replace("&amp;", "&")).get_data(as_text=True)
        total = re.search(r"total <strong>(-?£[\d,]+)</strong> \((-?£[\d,]+\.\d\d) to the penny",
                          drill)
        assert total is not None and total.group(1) == figure, url
    homecare = client.get(f"/spend/{result.dataset_id}/payments?subsector=homecare"
                          ).get_data(as_text=True)
    assert ">nan<" not in homecare and "amount run into the date" in homecare
    assert "read as payment date &#39;" in homecare and "paid_on" not in _text(homecare)
    csv = client.get(f"/spend/{result.dataset_id}/payments?format=csv").get_data(as_text=True)
    assert csv.count("\n") == 3155 + 1
    assert client.get(f"/spend/{result.dataset_id}/payments?band=nonsense").status_code == 422
    svg = client.get(f"/spend/{result.dataset_id}/chart.svg")
    assert svg.mimetype == "image/svg+xml" and b"residential" in svg.data
    # The £ scale is on the chart as text: each bar's total in whole pounds.
    assert "£2,000,734</text>" in svg.get_data(as_text=True)  # residential's total
    assert client.get(f"/spend/{result.dataset_id}/chart.png").data.startswith(b"\x89PNG")
    cleaning = client.get(f"/spend/{result.dataset_id}/cleaning?status=repaired")
    assert "Foundation6608/06/2012" in cleaning.get_data(as_text=True)
    words = _text(cleaning.get_data(as_text=True))
    assert "read as supplier" in words and "payment date &#39;08/06/2012&#39;" in words
    assert not re.search(r"\b(paid_on|supplier_name|amount_pence)\b", words)
    exported = client.get(f"/spend/{result.dataset_id}/cleaning?format=csv").get_data(as_text=True)
    assert exported.startswith("line,status,reason,raw,amount_pence")  # codes in CSV files
    assert client.get("/spend/999/payments").status_code == 404


def test_compare_two_datasets(client: FlaskClient, demo_store: Store, data_dir: Path) -> None:
    june = import_spend(demo_store, data_dir / JUNE, name="June", imported_by="t")
    may = import_spend(demo_store, data_dir / MAY, name="May totals", imported_by="t")
    page = client.get(f"/spend/compare?a={june.dataset_id}&b={may.dataset_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert whole_pounds(43_292_721_79) in text and "residential" in text
    assert client.get("/spend/compare?a=x&b=1").status_code == 422
    chart = client.get(f"/spend/compare/chart.svg?a={june.dataset_id}&b={may.dataset_id}")
    assert b"residential (June)" in chart.data


def test_an_officer_resolves_a_supplier_once(client_as: Callable[..., FlaskClient],
                                             demo_store: Store, data_dir: Path,
                                             app: Flask) -> None:
    import_spend(demo_store, data_dir / JUNE, name="June", imported_by="t")
    officer = client_as("officer", "o")
    listing = officer.get("/spend/suppliers?q=lambeth+living").get_data(as_text=True)
    found = re.search(r'<a href="(/spend/suppliers/\d+)">Lambeth Living Ltd</a>', listing)
    assert found is not None
    url = found.group(1)
    viewer = client_as("viewer", "v")
    token = csrf_token(viewer.get(url).get_data(as_text=True))  # the sign-out form's token
    assert viewer.post(url, data={"csrf_token": token, "ownership_class": "in-house"}
                       ).status_code == 403
    data = form_data(officer.get(url).get_data(as_text=True), url)
    data.update(ownership_class="in-house", legal_form="municipal-company",
                note="Lambeth's arm's-length housing company")
    assert officer.post(url, data=data).status_code == 302
    page = officer.get(url).get_data(as_text=True)
    assert "officer" in page and "arm&#39;s-length housing company" in page
    data.update(organisation_id="", ownership_class="")
    assert officer.post(url, data=data).status_code == 422  # neither given
    again = import_spend(demo_store, data_dir / JUNE, name="June again", imported_by="t")
    assert again.matches["officer"] == 1
    report = officer.get(f"/spend/{again.dataset_id}").get_data(as_text=True)
    assert "Lambeth Living Ltd" not in report.split('id="top-extractive"')[1]


def test_an_upload_over_the_size_limit_is_refused(client_as: Callable[..., FlaskClient],
                                                  app: Flask) -> None:
    app.config["SPEND_UPLOAD_MAX_BYTES"] = 2_000
    officer = client_as("officer", "o")
    response = _upload(officer, b"Supplier,Amount\n" + b"Acme Ltd,100.00\n" * 500)
    assert response.status_code == 413
    assert "File too large" in response.get_data(as_text=True)
    small = _upload(officer, b"Supplier,Amount\nAcme Ltd,100.00\n")
    assert small.status_code == 200


def test_an_unknown_encoding_is_refused_not_a_server_error(
        client_as: Callable[..., FlaskClient]) -> None:
    officer = client_as("officer", "o")
    page = _upload(officer, b"Supplier,Date,Amount\nAcme,01/06/2024,\nBeta,02/06/2024,2.00\n"
                   ).get_data(as_text=True)
    assert "<td>2</td><td>rejected</td><td>amount: the amount is blank</td>" in page
    data = form_data(page, "/spend/upload/import")
    data.update(name="enc", encoding="no-such-encoding")
    response = officer.post("/spend/upload/import", data=data)
    assert response.status_code == 422
    assert "not a text encoding" in response.get_data(as_text=True)
    data["encoding"] = "cp1252"
    data["skip_invalid"] = "y"
    started = officer.post("/spend/upload/import", data=data)
    assert started.status_code == 303
    assert "Imported £2.00" in _finished(officer, started.headers["Location"])


def test_compare_refuses_one_dataset_twice_and_ids_out_of_range(
        client: FlaskClient, demo_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text("Supplier,Service,Amount\nAcme Ltd,Care,10.00\n", encoding="utf-8")
    first = import_spend(demo_store, path, name="Q1 $\\frac$", imported_by="t")
    empty = tmp_path / "empty.csv"
    empty.write_text("Supplier,Amount\nAcme,abc\n", encoding="utf-8")
    nothing = import_spend(demo_store, empty, name="Nothing", imported_by="t", skip_invalid=True)
    same = client.get(f"/spend/compare?a={first.dataset_id}&b={first.dataset_id}")
    assert same.status_code == 422
    assert "compared with itself" in same.get_data(as_text=True)
    for query in ("a=99999999999999999999&b=1", "a=0&b=1", "a=1&b=-1", "a=1&b=2147483648"):
        response = client.get(f"/spend/compare?{query}")
        assert response.status_code == 422, query
        assert "is not a dataset id" in response.get_data(as_text=True)
    assert client.get(f"/spend/compare/chart.svg?a={first.dataset_id}&b={first.dataset_id}"
                      ).status_code == 422
    both = f"a={first.dataset_id}&b={nothing.dataset_id}"
    assert client.get(f"/spend/compare?{both}").status_code == 200
    assert client.get(f"/spend/compare?{both}&format=csv").status_code == 200
    chart = client.get(f"/spend/compare/chart.svg?{both}")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert client.get(f"/spend/{first.dataset_id}/chart.png").data.startswith(b"\x89PNG")
    assert client.get(f"/spend/{nothing.dataset_id}").status_code == 200
    assert client.get(f"/spend/{nothing.dataset_id}/chart.svg").status_code == 200


def test_an_import_shows_its_progress_and_a_cancel_writes_nothing(
        client_as: Callable[..., FlaskClient], demo_store: Store, data_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import web.spend_upload as upload

    held: list[tuple[object, object]] = []  # the job waits here: the test says when it runs
    monkeypatch.setattr(upload, "start_in_background", lambda job, work: held.append((job, work)))
    officer = client_as("officer", "o")
    page = _upload(officer, (data_dir / JUNE).read_bytes(), JUNE.name).get_data(as_text=True)
    data = form_data(page, "/spend/upload/import")
    data["name"] = "June"
    started = officer.post("/spend/upload/import", data=data)
    assert started.status_code == 303
    progress = started.headers["Location"]
    waiting = officer.get(progress).get_data(as_text=True)
    assert "Waiting to start" in waiting and 'id="import-bar"' in waiting
    assert "Cancel the import" in waiting
    status = officer.get(progress.replace("/progress", "/status")).get_json()
    assert status == {"state": "queued", "stage": "queued", "label": "Waiting to start",
                      "percent": 0, "finished": False, "cancellable": True, "message": None}
    assert client_as("viewer", "v").get(progress.replace("/progress", "/status")
                                        ).status_code == 403
    # The same upload is not imported twice at once.
    assert officer.post("/spend/upload/import", data=data).headers["Location"] == progress
    assert len(held) == 1
    no_token = officer.post(progress.replace("/progress", "/cancel"))
    assert no_token.status_code == 400  # CSRF
    cancel = officer.post(progress.replace("/progress", "/cancel"),
                          data={"csrf_token": csrf_token(waiting)})
    assert cancel.status_code == 303
    assert "Stopping the import" in officer.get(progress).get_data(as_text=True)
    job, work = held[0]
    job.run(work)  # type: ignore[attr-defined]  # runs, sees the cancel at its first step, stops
    done = officer.get(progress).get_data(as_text=True)
    assert "Import cancelled: nothing was written." in done
    with demo_store.transaction() as session:
        from mapping.spend.store import datasets_frame
        from mapping.spend.suppliers import supplier_matches_frame
        assert datasets_frame(session).empty and supplier_matches_frame(session).empty
    # Cancelled is not forgotten: the same file can be checked and imported again.
    again = officer.get(progress.replace("/progress", "")).get_data(as_text=True)
    assert 'value="June"' in again
    assert officer.get("/spend/upload/" + "0" * 32 + "/progress").status_code == 404


def test_the_report_explains_local_and_its_words_and_narrows_to_care(
        client: FlaskClient, demo_store: Store, data_dir: Path) -> None:
    result = import_spend(demo_store, data_dir / JUNE, name="June", imported_by="t")
    page = client.get(f"/spend/{result.dataset_id}").get_data(as_text=True)
    words = _text(page)
    assert 'Why "local" is £0' in words
    assert "9 of 820 suppliers paid are matched to an organisation in the register " \
           "(6 by same name, 3 by similar name)" in words
    assert "locality is not known for 100% of the spend (£40,292,335 of £40,292,335)" in words
    assert "How this is worked out" in words
    for term in ("CLES figure 2", "Generative", "Extractive", "In-house",
                 "Local spend policy bands"):
        assert f"<dt>{term}</dt>" in page
    assert "£2,000,734" in words and ".84" not in words.split("Per subsector")[1]
    top = page.split('id="top-extractive"')[1]
    assert "Lambeth Living Ltd" in top  # all spend: a housing company tops the list
    care = client.get(f"/spend/{result.dataset_id}?top_in=adult+care").get_data(as_text=True)
    top = care.split('id="top-extractive"')[1].split("</table>")[0]
    assert "Lambeth Living Ltd" not in top and "Allied Healthcare (Uk) Ltd" in top
    assert "other" not in _text(top)  # only care subsectors listed
    homecare = client.get(f"/spend/{result.dataset_id}?top_in=homecare").get_data(as_text=True)
    assert "nursing" not in _text(homecare.split('id="top-extractive"')[1].split("</table>")[0])
    assert client.get(f"/spend/{result.dataset_id}?top_in=nonsense").status_code == 422


def test_the_supplier_review_pages_searches_filters_and_bulk_resolves(
        client: FlaskClient, client_as: Callable[..., FlaskClient], demo_store: Store,
        data_dir: Path) -> None:
    import_spend(demo_store, data_dir / JUNE, name="June", imported_by="t")
    first = client.get("/spend/suppliers").get_data(as_text=True)
    assert first.count("<tr>") - 1 == 50 and "Showing 1–50 of <strong>814</strong>" in first
    assert 'name="match_id"' not in first  # no bulk form for the public
    last = client.get("/spend/suppliers?page=17").get_data(as_text=True)
    assert "Showing 801–814 of" in last and "Page 17 of 17" in last
    everyone = client.get("/spend/suppliers?status=all").get_data(as_text=True)
    assert "of <strong>820</strong>" in everyone
    search = client.get("/spend/suppliers?q=HEALTHCARE+allied&status=all").get_data(as_text=True)
    assert "of <strong>1</strong>" in search and "Allied Healthcare (Uk) Ltd" in search
    care = client.get("/spend/suppliers?status=all&class=extractive&subsector=homecare")
    rows = re.findall(r"<td>(extractive[^<]*)</td><td>[^<]*</td><td>([^<]*)</td>",
                      care.get_data(as_text=True))
    assert rows and all(klass == "extractive" and "homecare" in paid for klass, paid in rows)
    assert client.get("/spend/suppliers?status=nonsense").status_code == 422
    csv = client.get("/spend/suppliers?status=all&format=csv").get_data(as_text=True)
    assert csv.count("\n") == 820 + 1 and "supplier_key" in csv.splitlines()[0]

    officer = client_as("officer", "o")
    listing = officer.get("/spend/suppliers?q=care").get_data(as_text=True)
    ids = re.findall(r'name="match_id" value="(\d+)"', listing)[:2]
    data = form_data(listing, "/spend/suppliers/bulk")
    assert data["q"] == "care"
    viewer = client_as("viewer", "v")
    token = csrf_token(viewer.get("/spend/suppliers").get_data(as_text=True))
    assert viewer.post("/spend/suppliers/bulk", data={"csrf_token": token, "match_id": ids}
                       ).status_code == 403
    assert officer.post("/spend/suppliers/bulk", data={"match_id": ids}).status_code == 400
    # All or nothing: one supplier that is not there, and nothing is saved.
    refused = officer.post("/spend/suppliers/bulk", data={**data, "set_class": "generative",
                                                          "match_id": [*ids, "999999"]})
    assert refused.status_code == 422
    assert "Nothing was saved." in refused.get_data(as_text=True)
    assert "no supplier with id 999999" in refused.get_data(as_text=True)
    nothing = officer.post("/spend/suppliers/bulk", data={**data, "set_class": "generative"})
    assert nothing.status_code == 422 and "tick its box" in nothing.get_data(as_text=True)
    with demo_store.transaction() as session:
        from mapping.spend.suppliers import supplier_matches_frame
        assert not (supplier_matches_frame(session)["method"] == "officer").any()
    saved = officer.post("/spend/suppliers/bulk", data={**data, "set_class": "generative",
                                                        "note": "community groups",
                                                        "match_id": ids})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("?q=care")
    confirmation = officer.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Saved 2 suppliers classed as generative: " in confirmation
    with demo_store.transaction() as session:
        matches = supplier_matches_frame(session).set_index("id")
        done = matches.loc[[int(i) for i in ids]]
    assert set(done["method"]) == {"officer"} and set(done["ownership_class"]) == {"generative"}
    assert set(done["resolved_by"]) == {"o"}
