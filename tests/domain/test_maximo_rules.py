"""Reading Maximo's MXWO / MXSR pages and CSV exports (seed 000 C3), without a database."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from domain.rules.maximo import (
    DEFAULT_STATUS_MAP,
    Kind,
    Outcome,
    Record,
    Refusal,
    description_of,
    first_page,
    is_newer,
    read_csv,
    read_page,
    read_record,
    same_origin,
    title_of,
)


def test_a_rest_page_reads_work_orders_service_requests_and_the_next_page():
    page = read_page(
        {
            "member": [
                {"spi:wonum": "1042", "spi:siteid": "bedford", "spi:assetnum": "11430",
                 "spi:status": "wappr", "spi:wopriority": 1, "spi:description": "Pump leaks",
                 "spi:changedate": "2026-11-30T08:00:00+01:00",
                 "spi:reportdate": "2026-11-30T07:55:00+01:00"},
                {"ticketid": "SR77", "siteid": "BEDFORD", "assetnum": "11430",
                 "status": "NEW", "reportedpriority": "2", "description": "Noise",
                 "description_longdescription": "Grinding noise near the coupling",
                 "changedate": "2026-11-30T09:00:00Z"},
                {"siteid": "BEDFORD", "status": "NEW", "changedate": "2026-11-30T09:00:00Z"},
                {"wonum": "1043", "siteid": "BEDFORD", "status": "APPR",
                 "changedate": "yesterday"},
                "not an object",
            ],
            "responseInfo": {"nextPage": {"href": "http://mx/api/os/mxwo?pageno=2"}},
        }
    )  # fmt: skip
    wo, sr = page.records
    assert (wo.kind, wo.site, wo.ident, wo.asset, wo.status, wo.priority) == (
        Kind.WO, "BEDFORD", "1042", "11430", "WAPPR", 1,
    )  # fmt: skip
    assert wo.changed_at == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert (sr.kind, sr.ident, sr.priority, sr.long_description) == (
        Kind.SR, "SR77", 2, "Grinding noise near the coupling",
    )  # fmt: skip
    assert page.next_href == "http://mx/api/os/mxwo?pageno=2"
    reasons = [r.reason for r in page.refusals]
    assert reasons[0] == "neither wonum nor ticketid is given"
    assert "changedate 'yesterday' is not an ISO 8601 date-time" in reasons[1]
    assert reasons[2] == "a member must be a JSON object"
    assert read_page({"member": []}).next_href is None  # the last page


def test_a_page_without_a_member_list_is_refused_by_name():
    with pytest.raises(ValueError, match="member"):
        read_page({"rdfs:member": "x"})


def test_a_csv_export_reads_with_any_header_case_and_needs_its_keys():
    page = read_csv(
        "\ufeffWONUM,SITEID,ASSETNUM,STATUS,WOPRIORITY,DESCRIPTION,CHANGEDATE\n"
        "1042,BEDFORD,11430,CLOSE,3,Pump leaks,2026-11-30T08:00:00+00:00\n"
        "1043,BEDFORD,11430,APPR,,Valve,\n"
    )
    [record] = page.records
    assert (record.ident, record.status, record.priority) == ("1042", "CLOSE", 3)
    assert [r.reason for r in page.refusals] == ["changedate is missing"]
    with pytest.raises(ValueError, match="siteid"):
        read_csv("WONUM,STATUS\n1,APPR\n")


def test_identifiers_that_columns_or_histories_cannot_take_are_refused():
    bad = read_record({"wonum": "1\x00", "siteid": "B", "status": "APPR",
                       "changedate": "2026-11-30T08:00:00Z"})  # fmt: skip
    assert isinstance(bad, Refusal) and "printable" in bad.reason
    long = read_record({"wonum": "1", "siteid": "B" * 41, "status": "APPR",
                        "changedate": "2026-11-30T08:00:00Z"})  # fmt: skip
    assert isinstance(long, Refusal) and "siteid" in long.reason
    # What a refusal quotes is kept printable (JSONB refuses a NUL).
    dated = read_record({"wonum": "1", "siteid": "B", "status": "APPR", "changedate": "x\x00"})
    assert isinstance(dated, Refusal) and dated.as_dict()["reason"] == (
        "changedate 'x?' is not an ISO 8601 date-time"
    )


def test_statuses_closed_in_maximo_are_history_and_open_ones_start_a_lifecycle():
    assert DEFAULT_STATUS_MAP[(Kind.WO, "WAPPR")] is Outcome.OPEN
    assert DEFAULT_STATUS_MAP[(Kind.WO, "CLOSE")] is Outcome.CLOSED
    assert DEFAULT_STATUS_MAP[(Kind.WO, "CAN")] is Outcome.CANCELLED
    assert DEFAULT_STATUS_MAP[(Kind.SR, "RESOLVED")] is Outcome.CLOSED


def test_texts_keep_the_original_identifiers_and_a_change_needs_a_later_changedate():
    record = read_record({"ticketid": "SR77", "siteid": "BEDFORD", "status": "NEW",
                          "changedate": "2026-11-30T09:00:00Z"})  # fmt: skip
    assert isinstance(record, Record)
    assert title_of(record) == "SR77: Maximo service request"
    assert description_of(record).endswith("service request SR77 at site BEDFORD.")
    at = record.changed_at
    assert is_newer(None, at) and not is_newer(at, at)


def test_the_first_page_asks_for_what_changed_after_the_last_change_seen():
    since = datetime(2026, 11, 30, 9, tzinfo=UTC)
    url = first_page("http://mx:9080/maximo/api/", Kind.SR, 50, since)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path == "/maximo/api/os/mxsr"
    assert query["oslc.where"] == ['changedate>"2026-11-30T09:00:00+00:00"']
    assert query["oslc.pageSize"] == ["50"] and query["oslc.orderBy"] == ["+changedate"]
    assert "oslc.where" not in first_page("http://mx/api", Kind.WO, 50, None)
    assert same_origin("http://mx:9080/maximo/api", "http://mx:9080/maximo/api/os/mxwo?p=2")
    assert not same_origin("http://mx:9080/maximo/api", "http://evil:9080/os/mxwo")
