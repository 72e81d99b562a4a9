"""Contract test from Python: a client generated from protos/ alone (Debian's python3-grpcio, stubs made by Debian's
protoc and grpc_python_plugin, see run.sh) against the built server. One test each: health SERVING, a score of
examples/first-feature.json, a bad request's google.rpc.BadRequest decoded from the status details, and the Allocate
stream of examples/year-2023.jsonl, and a what-if reform sent as fields. Prints 'contract-python: N passed, N failed' last; exit 0 when none failed.

Usage: CONTRIBUTI_ADDRESS=127.0.0.1:50051 CONTRIBUTI_STUBS=DIR CONTRIBUTI_REPO=ROOT python3 test_contract.py
"""
import json
import os
import sys
import unittest
from decimal import Decimal

sys.path.insert(0, os.environ["CONTRIBUTI_STUBS"])

import grpc  # noqa: E402  (Debian's python3-grpcio)
from google.protobuf import json_format  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from contributi.v1 import allocation_pb2, allocation_pb2_grpc, reform_pb2, scoring_pb2, scoring_pb2_grpc, work_pb2  # noqa: E402
import health_pb2  # noqa: E402  (protos/grpc/health/v1/health.proto, generated beside the others: see run.sh)
import health_pb2_grpc  # noqa: E402

ADDRESS = os.environ.get("CONTRIBUTI_ADDRESS", "127.0.0.1:50051")
REPO = os.environ["CONTRIBUTI_REPO"]
DEADLINE = 60


def example(name):
    with open(os.path.join(REPO, "examples", name), encoding="utf-8") as f:
        return f.read()


class Contract(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.channel = grpc.insecure_channel(ADDRESS, options=[("grpc.max_receive_message_length", 16 * 1024 * 1024)])

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()

    def test_health_is_serving_for_the_server_and_the_scoring_service(self):
        health = health_pb2_grpc.HealthStub(self.channel)
        for service in ("", "contributi.v1.ScoringService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=DEADLINE)
            self.assertEqual(reply.status, health_pb2.HealthCheckResponse.SERVING, service)

    def test_score_work_of_the_example_gives_the_readme_points(self):
        request = json_format.Parse(example("first-feature.json"), scoring_pb2.ScoreWorkRequest())
        response = scoring_pb2_grpc.ScoringServiceStub(self.channel).ScoreWork(request, timeout=DEADLINE)
        self.assertEqual(response.rule_set_id, "dm-2021")
        self.assertEqual(len(response.content_hash), 64)
        producer = [r for r in response.roles if r.role == work_pb2.ROLE_PRODUCER][0]
        self.assertEqual(producer.total_points, "847.3333333333")
        quotas = {q.quota_id: q.points for q in producer.quotas}
        self.assertEqual(quotas["cinema.cultural"], "190")
        self.assertEqual(quotas["cinema.economic"], "657.3333333333")

    def test_a_figure_only_reform_sent_as_fields_is_scored_and_named_in_the_answer(self):
        request = json_format.Parse(example("first-feature.json"), scoring_pb2.ScoreWorkRequest())
        request.reform.CopyFrom(reform_pb2.Reform(id="tier-1-4000", title="1 punto ogni 4.000 euro", changes=[
            reform_pb2.ReformChange(figure=reform_pb2.FigureChange(path="T1.A.1.tier_1_eur_per_point", value="4000"))]))
        response = scoring_pb2_grpc.ScoringServiceStub(self.channel).ScoreWork(request, timeout=DEADLINE)
        self.assertEqual(response.reform.id, "tier-1-4000")
        self.assertEqual(len(response.reform.content_hash), 64)
        self.assertTrue(response.reform.figure_only)
        self.assertIn(response.reform.source, (reform_pb2.REFORM_SOURCE_REFIGURED, reform_pb2.REFORM_SOURCE_CACHED))
        producer = [r for r in response.roles if r.role == work_pb2.ROLE_PRODUCER][0]
        # 1,000,000 / 4,000 = 250 points in T1.A.1's first band instead of 200, and the rows that read them as their base.
        self.assertEqual(producer.total_points, "932.3333333333")

    def test_a_bad_request_is_invalid_argument_with_a_bad_request_naming_each_field(self):
        request = json_format.Parse(example("first-feature.json"), scoring_pb2.ScoreWorkRequest())
        request.work.production_cost = "-5"
        request.roles[0].distribution_cost = "2.4e6"
        with self.assertRaises(grpc.RpcError) as caught:
            scoring_pb2_grpc.ScoringServiceStub(self.channel).ScoreWork(request, timeout=DEADLINE)
        error = caught.exception
        self.assertEqual(error.code(), grpc.StatusCode.INVALID_ARGUMENT)
        details = dict(error.trailing_metadata()).get("grpc-status-details-bin")
        self.assertIsNotNone(details, "no grpc-status-details-bin trailer")
        status = status_pb2.Status.FromString(details)
        self.assertEqual(status.code, 3)
        self.assertEqual(status.message, error.details())
        self.assertEqual(len(status.details), 1)
        bad = error_details_pb2.BadRequest()
        self.assertTrue(status.details[0].Unpack(bad), status.details[0].type_url)
        violations = {v.field: v.description for v in bad.field_violations}
        self.assertEqual(violations["work.production_cost"], "must be >= 0, got -5")
        self.assertTrue(violations["roles[0].distribution_cost"].startswith("not a decimal number of the form"))

    def test_allocate_streams_the_summary_first_then_statements_that_add_up(self):
        items = [json_format.Parse(line, allocation_pb2.AllocateRequest())
                 for line in example("year-2023.jsonl").splitlines() if line.strip()]
        answers = list(allocation_pb2_grpc.AllocationServiceStub(self.channel).Allocate(iter(items), timeout=DEADLINE))
        self.assertGreater(len(answers), 1)
        first, rest = answers[0], answers[1:]
        self.assertEqual(first.WhichOneof("item"), "summary")
        self.assertEqual(first.summary.rule_set_id, "dm-2021")
        self.assertEqual(first.summary.application_year, 2023)
        rank = {"company": 1, "work": 2, "exclusion": 3}
        kinds = [a.WhichOneof("item") for a in rest]
        self.assertEqual(kinds, sorted(kinds, key=lambda k: rank[k]))
        companies = [a.company for a in rest if a.WhichOneof("item") == "company"]
        self.assertEqual(len(companies), first.summary.companies)
        self.assertEqual([c.company_id for c in companies], sorted(c.company_id for c in companies))
        # The company statements add up to the allocated total, to the cent.
        self.assertEqual(sum(Decimal(c.total) for c in companies), Decimal(first.summary.allocated))


if __name__ == "__main__":
    result = unittest.TextTestRunner(verbosity=2).run(unittest.defaultTestLoader.loadTestsFromTestCase(Contract))
    failed = len(result.failures) + len(result.errors)
    print(f"contract-python: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
