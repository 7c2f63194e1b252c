"""Analytics over HTTP: a BI tool asks for a snapshot, follows it while it is computed, reads the result and its
tables; parameters are checked; callers without analytics:read are refused."""

from kopilka.analytics.snapshots import lifecycle


def test_a_bi_tool_requests_follows_and_reads_a_snapshot(march, caller_with):
    bi = caller_with("analytics:read")
    asked = bi.post("/api/v1/analytics/snapshots", {"kind": "dashboard",
                                                     "params": {"start": "2026-03-01", "end": "2026-03-31"}})
    assert asked.status_code == 202
    snapshot = asked.json()
    assert (snapshot["status"], snapshot["result"], snapshot["requested_at"] is not None) == ("queued", None, True)
    lifecycle.compute(snapshot["id"])
    done = bi.get(f"/api/v1/analytics/snapshots/{snapshot['id']}").json()
    assert done["status"] == "done" and "members-vs-non-members" in done["tables"]
    assert {k["code"]: k["value"] for k in done["result"]["kpis"]}["buyers"] == 2
    rows = bi.get(f"/api/v1/analytics/snapshots/{snapshot['id']}/tables/members-vs-non-members").json()
    assert [(r["who"], r["receipts"], r["revenue"]) for r in rows] == [("members", 4, "4700.00"),
                                                                      ("non_members", 2, "1000.00")]
    again = bi.post("/api/v1/analytics/snapshots", {"kind": "dashboard",
                                                     "params": {"end": "2026-03-31", "start": "2026-03-01"}})
    assert (again.status_code, again.json()["id"]) == (200, snapshot["id"])  # fresh: the same one


def test_parameters_are_checked_and_unknown_things_are_404(caller_with):
    bi = caller_with("analytics:read")
    assert {"dashboard", "cuts", "rfm", "clusters", "clv"} <= {k["kind"] for k in bi.get("/api/v1/analytics").json()}
    refused = bi.post("/api/v1/analytics/snapshots", {"kind": "rfm", "params": {"as_of": "31.03.2026x"}})
    assert refused.status_code == 422 and "as_of" in refused.json()["details"]["errors"]
    assert bi.post("/api/v1/analytics/snapshots", {"kind": "tarot", "params": {}}).status_code == 422
    assert bi.get("/api/v1/analytics/snapshots/999").status_code == 404


def test_callers_without_the_scope_are_refused(caller_with, anonymous):
    assert caller_with("members:read").get("/api/v1/analytics").status_code == 403
    assert anonymous.get("/api/v1/analytics").status_code == 401
