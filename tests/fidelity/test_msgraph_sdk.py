"""Fidelity check: Microsoft's Graph SDK for Python (msgraph-sdk, Kiota-generated) reads the
simulated tenant the way real code reads Graph, and what it reads equals the simulator's ground
truth (`GET /_sim/truth`). MSAL and azure-identity judge the token side; this judges Graph.

The client is built the way the SDK documents for a customised client
(microsoft-graph-docs-contrib concepts/sdks/customize-client.md): an azure-identity
ClientSecretCredential (authority = the simulator, instance discovery off, CA trusted) in an
AzureIdentityAuthenticationProvider, the SDK's default middleware around an httpx.AsyncClient
that trusts the simulator's CA (HTTP/2 on, like the SDK's own default client), and the request
adapter's base_url set to `{base}/v1.0`.

Run with the other fidelity tests:
target/fidelity-venv/bin/python -m unittest discover -s tests/fidelity -v
"""

import asyncio
import collections
import json
import ssl
import unittest
import urllib.request
import warnings

from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph.generated.groups.item.members.members_request_builder import MembersRequestBuilder
from msgraph.generated.groups.item.owners.owners_request_builder import OwnersRequestBuilder
from msgraph.generated.models.device import Device
from msgraph.generated.models.directory_object_collection_response import DirectoryObjectCollectionResponse
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.org_contact import OrgContact
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.models.user import User
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_content_collection import BatchRequestContentCollection
from msgraph_core.requests.batch_request_item import BatchRequestItem
from msgraph_core.tasks.page_iterator import PageIterator

from sim_process import GRAPH_SCOPE, Simulator, graph_service_client

# The SDK's model class for each `memberType` of the truth (= `@odata.type` without its prefix).
MODEL_FOR_TYPE = {
    "user": User,
    "group": Group,
    "device": Device,
    "servicePrincipal": ServicePrincipal,
    "orgContact": OrgContact,
}
ERROR_MAPPING = {"XXX": ODataError}
DEFAULT_PAGE = 100
MISSING = "00000000-0000-0000-0000-00000000beef"


def query(builder, **params):
    """A request configuration with the builder's query parameters (select, top, ...)."""
    parameters = getattr(builder, builder.__name__ + "GetQueryParameters")
    return RequestConfiguration(query_parameters=parameters(**params))


async def drain(response, adapter):
    """Every item of a collection, following @odata.nextLink with the SDK's PageIterator.

    Returns (items, pages): pages counts the responses, so a test can require that paging
    actually happened.
    """
    items = []
    pages = [1]
    iterator = PageIterator(response, adapter, error_mapping=ERROR_MAPPING)
    fetch = iterator.fetch_next_page

    async def counted():
        pages[0] += 1
        return await fetch()

    iterator.fetch_next_page = counted
    # iterate() stops when the callback returns something falsy, so it must return True.
    await iterator.iterate(lambda item: items.append(item) or True)
    return items, pages[0]


class GraphSdkCase(unittest.TestCase):
    """Starts a simulator (with SIM_ARGS), reads its truth, builds SDK clients. No tests."""

    SIM_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(*cls.SIM_ARGS)
        cls.ssl = ssl.create_default_context(cafile=cls.sim.ca)
        with urllib.request.urlopen(cls.sim.base + "/_sim/truth", context=cls.ssl) as r:
            cls.truth = json.load(r)
        cls.members = collections.defaultdict(list)
        for m in cls.truth["members"]:
            cls.members[m["groupId"]].append(m)
        cls.owners = collections.defaultdict(list)
        for o in cls.truth["owners"]:
            cls.owners[o["groupId"]].append(o)
        cls.credentials = {}
        # msgraph-sdk's generated request builders call warn(DeprecationWarning) in class
        # bodies, i.e. on import, whatever the caller uses.
        warnings.filterwarnings("ignore", "This class is deprecated", DeprecationWarning)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def credential(self, slug):
        if slug not in self.credentials:
            app = self.sim.apps[slug]
            host = self.sim.base.split("://", 1)[1]
            self.credentials[slug] = ClientSecretCredential(
                self.sim.tenant,
                app["client_id"],
                app["secret"],
                authority=host,
                disable_instance_discovery=True,
                connection_verify=self.sim.ca,
            )
        return self.credentials[slug]

    def graph(self, slug="full"):
        """A GraphServiceClient for a demo app, pointed at the simulator's Graph root."""
        return graph_service_client(self.credential(slug), [GRAPH_SCOPE], self.sim.base, self.ssl)

    def assert_no_duplicates(self, ids, what):
        dupes = [i for i, n in collections.Counter(ids).items() if n > 1]
        self.assertEqual(dupes, [], f"{what} returned more than once")


class GraphSdkAgainstSimulator(GraphSdkCase):

    def test_users_select_top_paged_to_exhaustion(self):
        top = 37  # not a divisor of any preset's user count, so the last page is partial

        async def run():
            async with self.graph() as client:
                first = await client.users.get(
                    query(UsersRequestBuilder, select=["id", "displayName", "userPrincipalName"], top=top)
                )
                self.assertLessEqual(len(first.value), top)
                return await drain(first, client.request_adapter)

        users, pages = asyncio.run(run())
        truth = {u["id"]: u for u in self.truth["users"]}
        self.assertEqual(pages, -(-len(truth) // top))
        self.assert_no_duplicates([u.id for u in users], "user")
        self.assertEqual({u.id for u in users}, set(truth))
        for u in users:
            self.assertIs(type(u), User)
            self.assertEqual(u.display_name, truth[u.id]["displayName"])
            self.assertEqual(u.user_principal_name, truth[u.id]["userPrincipalName"])

    def test_groups_select_top_paged_to_exhaustion(self):
        top = 7

        async def run():
            async with self.graph() as client:
                first = await client.groups.get(
                    query(GroupsRequestBuilder, select=["id", "displayName", "groupTypes", "securityEnabled"], top=top)
                )
                return await drain(first, client.request_adapter)

        groups, pages = asyncio.run(run())
        truth = {g["id"]: g for g in self.truth["groups"]}
        self.assertEqual(pages, -(-len(truth) // top))
        self.assert_no_duplicates([g.id for g in groups], "group")
        self.assertEqual({g.id for g in groups}, set(truth))
        for g in groups:
            self.assertIs(type(g), Group)
            self.assertEqual(g.display_name, truth[g.id]["displayName"])
            self.assertEqual(g.group_types, truth[g.id]["groupTypes"])
            self.assertEqual(g.security_enabled, truth[g.id]["securityEnabled"])

    def test_largest_group_members_paged(self):
        group = max(self.members, key=lambda g: len(self.members[g]))
        expected = self.members[group]

        async def run():
            async with self.graph() as client:
                first = await client.groups.by_group_id(group).members.get(
                    query(MembersRequestBuilder, select=["id", "displayName"])
                )
                return await drain(first, client.request_adapter)

        members, pages = asyncio.run(run())
        # Default page size is 100: a group with more members must have come in several pages.
        self.assertEqual(pages, max(1, -(-len(expected) // DEFAULT_PAGE)))
        self.assert_no_duplicates([m.id for m in members], "member")
        self.assertEqual(
            {(m.id, type(m)) for m in members},
            {(m["memberId"], MODEL_FOR_TYPE[m["memberType"]]) for m in expected},
        )

    def test_members_of_every_type_and_all_owners_deserialise_to_model_classes(self):
        """Members (of groups that together hold every member type, plus the hidden-membership
        groups) and owners of every group: each item is deserialised by `@odata.type` into the
        SDK's model class and equals the truth. Not every group's members: the SDK spends about
        10 ms deserialising one object, and the test must stay fast."""
        by_type = collections.defaultdict(set)
        for m in self.truth["members"]:
            by_type[m["memberType"]].add(m["groupId"])
        member_groups = set(self.truth["hiddenMembershipGroups"])
        for groups in by_type.values():
            if not groups & member_groups:
                member_groups.add(min(groups, key=lambda g: len(self.members[g])))
        group_ids = [g["id"] for g in self.truth["groups"]]

        async def run():
            got_members, got_owners = {}, {}
            async with self.graph() as client:
                for gid in group_ids:
                    item = client.groups.by_group_id(gid)
                    if gid in member_groups:
                        first = await item.members.get(
                            query(MembersRequestBuilder, select=["id", "displayName", "userPrincipalName"], top=999)
                        )
                        got_members[gid], _ = await drain(first, client.request_adapter)
                    first = await item.owners.get(query(OwnersRequestBuilder, select=["id", "displayName"]))
                    got_owners[gid], _ = await drain(first, client.request_adapter)
            return got_members, got_owners

        got_members, got_owners = asyncio.run(run())
        seen_types = set()
        for gid, got in got_members.items():
            with self.subTest(group=gid, relation="members"):
                expected = {m["memberId"]: m for m in self.members[gid]}
                self.assert_no_duplicates([m.id for m in got], "member")
                self.assertEqual({m.id for m in got}, set(expected))
                for m in got:
                    want = expected[m.id]
                    self.assertIs(type(m), MODEL_FOR_TYPE[want["memberType"]])
                    self.assertEqual(m.odata_type, "#microsoft.graph." + want["memberType"])
                    self.assertEqual(m.display_name, want["memberDisplayName"])
                    if isinstance(m, User):
                        self.assertEqual(m.user_principal_name, want["memberUserPrincipalName"])
                    seen_types.add(want["memberType"])
        self.assertEqual(seen_types, set(by_type))
        for gid, got in got_owners.items():
            with self.subTest(group=gid, relation="owners"):
                expected = {o["ownerId"]: o for o in self.owners[gid]}
                self.assert_no_duplicates([o.id for o in got], "owner")
                self.assertEqual({o.id for o in got}, set(expected))
                for o in got:
                    self.assertIs(type(o), MODEL_FOR_TYPE[expected[o.id]["ownerType"]])
                    self.assertEqual(o.display_name, expected[o.id]["ownerDisplayName"])

    def post_member_batch(self):
        """Members of the first 25 groups and of a missing group, as a
        BatchRequestContentCollection (so more than 20 requests: the SDK splits them into
        several $batch POSTs). Returns (group ids by request id, {request id: item})."""
        groups = [g["id"] for g in self.truth["groups"]][: BatchRequestContent.MAX_REQUESTS + 5]
        requested = {str(i): gid for i, gid in enumerate(groups + [MISSING])}

        async def run():
            async with self.graph() as client:
                batch = BatchRequestContentCollection()
                for rid, gid in requested.items():
                    info = client.groups.by_group_id(gid).members.to_get_request_information(
                        query(MembersRequestBuilder, select=["id"], top=999)
                    )
                    # BatchRequestContent({id: info}) would ignore the given id (the item
                    # already has a random one), so items are built with their id.
                    batch.add_batch_request_item(BatchRequestItem(info, id=rid))
                self.assertGreater(len(batch.get_batch_requests_for_execution()), 1)
                return await client.batch.post(batch)

        items = {}
        for content in asyncio.run(run()).get_responses():
            for rid, item in content.responses.items():
                self.assertNotIn(rid, items, "an id answered twice")
                items[rid] = (content, item)
        return requested, items

    def test_batch_statuses_and_headers(self):
        requested, items = self.post_member_batch()
        self.assertEqual(
            {rid: item.status for rid, (_, item) in items.items()},
            {rid: 404 if gid == MISSING else 200 for rid, gid in requested.items()},
        )
        for _, item in items.values():
            self.assertTrue(item.content_type.startswith("application/json"), item.headers)
            self.assertIn("x-ms-resource-unit", {k.lower() for k in item.headers})

    def test_batch_bodies(self):
        requested, items = self.post_member_batch()
        if any(item.body is None for _, item in items.values()):
            # msgraph-core reads each item's body with JsonParseNode.get_bytes_value(), which
            # (since kiota-python#646) returns None for a JSON object, and Graph sends JSON
            # bodies as objects: the SDK drops them (microsoft/kiota-python#737).
            self.skipTest("the SDK drops JSON-object $batch bodies (microsoft/kiota-python#737)")
        for rid, gid in requested.items():
            if gid == MISSING:
                continue
            content, _ = items[rid]
            body = content.response_body(rid, DirectoryObjectCollectionResponse)
            self.assertEqual({m.id for m in body.value}, {m["memberId"] for m in self.members[gid]})

    def test_counts_with_consistency_level(self):
        """`/users/$count` (text/plain, read as int) and `$count=true` (`@odata.count`)."""

        async def run():
            async with self.graph() as client:
                config = RequestConfiguration()
                config.headers.add("ConsistencyLevel", "eventual")
                users = await client.users.count.get(config)
                config = query(GroupsRequestBuilder, select=["id"], top=1, count=True)
                config.headers.add("ConsistencyLevel", "eventual")
                groups = await client.groups.get(config)
                return users, groups

        users, groups = asyncio.run(run())
        self.assertEqual(users, len(self.truth["users"]))
        self.assertEqual(groups.odata_count, len(self.truth["groups"]))
        self.assertEqual(len(groups.value), 1)

    def test_no_grants_is_authorization_request_denied(self):
        async def run():
            async with self.graph("no-grants") as client:
                with self.assertRaises(ODataError) as users_error:
                    await client.users.get(query(UsersRequestBuilder, select=["id"]))
                with self.assertRaises(ODataError) as members_error:
                    await client.groups.by_group_id(self.truth["groups"][0]["id"]).members.get()
                return users_error.exception, members_error.exception

        for e in asyncio.run(run()):
            self.assertEqual(e.response_status_code, 403)
            self.assertEqual(e.error.code, "Authorization_RequestDenied")
            self.assertEqual(e.error.message, "Insufficient privileges to complete the operation.")
            self.assertIsNotNone(e.error.inner_error)
            self.assertTrue(e.error.inner_error.request_id)

    def test_unknown_group_is_resource_not_found(self):
        missing = MISSING
        self.assertNotIn(missing, {g["id"] for g in self.truth["groups"]})

        async def run():
            async with self.graph() as client:
                with self.assertRaises(ODataError) as e:
                    await client.groups.by_group_id(missing).members.get()
                return e.exception

        e = asyncio.run(run())
        self.assertEqual(e.response_status_code, 404)
        self.assertEqual(e.error.code, "Request_ResourceNotFound")
        self.assertIn(missing, e.error.message)


class GraphSdkRetriesAgainstSimulator(GraphSdkCase):
    """The SDK's RetryHandler against the simulator's injected 429 (the second /users request,
    Retry-After 1): the listing completes and equals the truth.

    The Retry-After is whole seconds on purpose: Kiota's handler parses only integers and
    HTTP-dates, and falls back to its own backoff (3 s and more) for a fractional value such as
    the simulator's budget 429s send (Graph documents fractional values, e.g. "2.128").
    """

    SIM_ARGS = ("--fault", "429=1@at=2;path=/users")

    def stats(self):
        with urllib.request.urlopen(self.sim.base + "/_sim/stats", context=self.ssl) as r:
            return json.load(r)

    def test_injected_429_is_retried(self):
        before = self.stats()

        async def run():
            async with self.graph() as client:
                first = await client.users.get(query(UsersRequestBuilder, select=["id"], top=DEFAULT_PAGE))
                return await drain(first, client.request_adapter)

        users, pages = asyncio.run(run())
        after = self.stats()
        self.assertGreater(pages, 1, "the fault hits the second page: the tenant needs two")
        self.assertEqual(sorted(u.id for u in users), sorted(u["id"] for u in self.truth["users"]))
        self.assertEqual(after["faultsInjected"] - before["faultsInjected"], 1)
        self.assertEqual(after["graphRequests"] - before["graphRequests"], pages + 1)



class UsersDeltaAfterTheTenantChanged(GraphSdkCase):
    """The SDK's `users.delta` (`GET /users/delta()`): an initial sync to the deltaLink, the
    tenant changes (`POST /_sim/evolve`), and following the deltaLink returns what changed —
    new and changed users (possibly with only some properties) and `@removed` entries
    (in the model's additional_data) — so that merging them gives the new truth."""

    PROPS = ["id", "displayName", "userPrincipalName", "accountEnabled"]

    def evolve(self, changes, seed):
        req = urllib.request.Request(
            f"{self.sim.base}/_sim/evolve?changes={changes}&seed={seed}", method="POST")
        with urllib.request.urlopen(req, context=self.ssl) as r:
            return json.load(r)["changes"]

    def current_truth(self):
        with urllib.request.urlopen(self.sim.base + "/_sim/truth", context=self.ssl) as r:
            return json.load(r)

    def test_following_the_delta_link_gives_the_changes(self):
        from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder

        async def follow(builder, response):
            items = list(response.value or [])
            while response.odata_next_link:
                response = await builder.with_url(response.odata_next_link).get()
                items += response.value or []
            self.assertIsNotNone(response.odata_delta_link, "a chain ends with a deltaLink")
            return items, response.odata_delta_link

        async def run():
            async with self.graph() as client:
                builder = client.users.delta
                first = await builder.get(query(DeltaRequestBuilder, select=self.PROPS))
                initial, link = await follow(builder, first)
                applied = self.evolve(40, 5)
                changed, _ = await follow(builder, await builder.with_url(link).get())
                return initial, applied, changed

        initial, applied, changed = asyncio.run(run())
        local = {u.id: {"displayName": u.display_name, "userPrincipalName": u.user_principal_name,
                        "accountEnabled": u.account_enabled} for u in initial}
        want = lambda truth: {u["id"]: {k: u[k] for k in self.PROPS if k != "id"}
                              for u in truth["users"]}
        self.assertEqual(local, want(self.truth), "the initial sync is every user")

        removed = 0
        for u in changed:
            if "@removed" in (u.additional_data or {}):
                self.assertIn(u.additional_data["@removed"]["reason"], ("changed", "deleted"))
                local.pop(u.id, None)
                removed += 1
                continue
            have = local.setdefault(u.id, {})
            for key, value in (("displayName", u.display_name),
                               ("userPrincipalName", u.user_principal_name),
                               ("accountEnabled", u.account_enabled)):
                if value is not None:
                    have[key] = value
        self.assertEqual(local, want(self.current_truth()), "merged changes = the new truth")
        left = {c["id"] for c in applied if c["object"] == "user" and c["change"] == "removed"}
        self.assertTrue(left, "the seed removes users")
        self.assertEqual(removed, len(left), "one @removed entry for each leaver")
        user_ids = {c["id"] for c in applied if c["object"] == "user"}
        self.assertLessEqual({u.id for u in changed}, user_ids | set(local),
                             "only users the tenant knows come back")


if __name__ == "__main__":
    unittest.main()
