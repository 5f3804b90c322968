"""Spend pages: upload with CSRF and roles, review, import, report, drill-down, resolving suppliers."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from mapping.spend.reading import pounds
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
    assert response.status_code == 302, response.get_data(as_text=True)
    report = officer.get(response.headers["Location"]).get_data(as_text=True)
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
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "row 2, field &#39;amount&#39;" in text and "row 3, field &#39;supplier_name&#39;" in text
    with demo_store.transaction() as session:
        from mapping.spend.store import datasets_frame
        assert datasets_frame(session).empty
    data["skip_invalid"] = "y"
    data["mapping"] = "Amount=nonsense"
    assert officer.post("/spend/upload/import", data=data).status_code == 422
    data["mapping"] = "Supplier=supplier_name\nDate=paid_on\nAmount=amount"
    kept = officer.post("/spend/upload/import", data=data)
    assert kept.status_code == 302  # --skip-invalid: the valid line in, the rest reported
    cleaning = officer.get(kept.headers["Location"].rstrip("/") + "/cleaning?status=rejected")
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
    links = re.findall(r'<a href="(/spend/\d+/payments\?[^"]+)">(-?£[\d,]+\.\d\d)</a>', page)
    assert len(links) > 40
    for url, figure in links[:60]:
        drill = client.get(url.replace("&amp;", "&")).get_data(as_text=True)
        total = re.search(r"total <strong>(-?£[\d,]+\.\d\d)</strong>", drill)
        assert total is not None and total.group(1) == figure, url
    homecare = client.get(f"/spend/{result.dataset_id}/payments?subsector=homecare"
                          ).get_data(as_text=True)
    assert ">nan<" not in homecare and "amount run into the date" in homecare
    csv = client.get(f"/spend/{result.dataset_id}/payments?format=csv").get_data(as_text=True)
    assert csv.count("\n") == 3155 + 1
    assert client.get(f"/spend/{result.dataset_id}/payments?band=nonsense").status_code == 422
    svg = client.get(f"/spend/{result.dataset_id}/chart.svg")
    assert svg.mimetype == "image/svg+xml" and b"residential" in svg.data
    assert client.get(f"/spend/{result.dataset_id}/chart.png").data.startswith(b"\x89PNG")
    cleaning = client.get(f"/spend/{result.dataset_id}/cleaning?status=repaired")
    assert "Foundation6608/06/2012" in cleaning.get_data(as_text=True)
    assert client.get("/spend/999/payments").status_code == 404


def test_compare_two_datasets(client: FlaskClient, demo_store: Store, data_dir: Path) -> None:
    june = import_spend(demo_store, data_dir / JUNE, name="June", imported_by="t")
    may = import_spend(demo_store, data_dir / MAY, name="May totals", imported_by="t")
    page = client.get(f"/spend/compare?a={june.dataset_id}&b={may.dataset_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert pounds(43_292_721_79) in text and "residential" in text
    assert client.get("/spend/compare?a=x&b=1").status_code == 422
    chart = client.get(f"/spend/compare/chart.svg?a={june.dataset_id}&b={may.dataset_id}")
    assert b"residential (June)" in chart.data


def test_an_officer_resolves_a_supplier_once(client_as: Callable[..., FlaskClient],
                                             demo_store: Store, data_dir: Path,
                                             app: Flask) -> None:
    import_spend(demo_store, data_dir / JUNE, name="June", imported_by="t")
    officer = client_as("officer", "o")
    listing = officer.get("/spend/suppliers").get_data(as_text=True)
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
    assert officer.post("/spend/upload/import", data=data).status_code == 302


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
