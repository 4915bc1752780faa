"""Fidelity check: Microsoft's own MSAL for Python signs a person in to the simulated tenant with
the device authorization grant, the way `entra-extract app create` does, and keeps them signed
in with refresh tokens. MSAL is configured as a real public client application is:
`PublicClientApplication` with a first-party public client id (Microsoft Graph Command Line
Tools or Azure CLI), the tenant as authority, instance discovery off, the simulator's CA
trusted. It finds the device authorization endpoint through the tenant's OpenID configuration.

Who answers the sign-in: `--device-approve WHO` answers every code at once; without it the test
plays the person at the browser through `POST /_sim/device/approve?user_code=&as=` and
`POST /_sim/device/decline?user_code=`. The simulators run with `--device-poll-interval-secs 1`.

Run: target/fidelity-venv/bin/python -m unittest discover -s tests/fidelity -v
(scripts/install-test-deps.sh creates the venv; ENTRA_EXTRACT_BIN overrides the binary path,
default the debug build in Cargo's target directory, which `cargo build` produces).
"""

import asyncio
import json
import ssl
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import warnings

import msal

from sim_process import Simulator, claims, graph_service_client

GRAPH_CLI_TOOLS = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
# What an app registering other apps asks for [GDC application-post-applications.md,
# serviceprincipal-post-approleassignments.md].
SCOPES = [
    "https://graph.microsoft.com/Application.ReadWrite.All",
    "https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All",
]
SCOPE_NAMES = {"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"}
# Directory role template ids (`wids`) [Entra built-in roles reference].
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
MEMBER = "b79fbf4d-3ef9-4689-8143-76b194e85509"


class DeviceCodeCase(unittest.TestCase):
    """Starts a simulator with SIM_ARGS (after a 1 s poll interval). No tests."""

    SIM_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--device-poll-interval-secs", "1", *cls.SIM_ARGS)
        cls.ssl = ssl.create_default_context(cafile=cls.sim.ca)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    @classmethod
    def public_app(cls, client_id=GRAPH_CLI_TOOLS):
        return msal.PublicClientApplication(
            client_id,
            authority=f"{cls.sim.base}/{cls.sim.tenant}",
            instance_discovery=False,
            verify=cls.sim.ca,
        )

    @classmethod
    def initiate(cls, app, scopes=SCOPES):
        flow = app.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            raise AssertionError(f"initiate_device_flow failed: {flow}")
        return flow

    @classmethod
    def sim_call(cls, path, method="GET", **params):
        """A `/_sim/...` admin call; returns (status, parsed JSON body or None)."""
        url = f"{cls.sim.base}/_sim/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, context=cls.ssl) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, body.decode(errors="replace")

    def pending_codes(self):
        status, body = self.sim_call("device/pending")
        self.assertEqual(status, 200, body)
        return {p["userCode"]: p for p in body["pending"]}

    def assert_delegated_token(self, result, wids):
        """A delegated Microsoft Graph token for the scopes asked, as the given person."""
        self.assertIn("access_token", result, result)
        c = claims(result["access_token"])
        self.assertEqual(c["idtyp"], "user")
        self.assertEqual(c["aud"], "https://graph.microsoft.com")
        self.assertEqual(c["tid"], self.sim.tenant)
        self.assertEqual(set(c["scp"].split()), SCOPE_NAMES)
        self.assertEqual(sorted(c["wids"]), sorted(wids))
        self.assertIn("@", c["upn"])
        self.assertNotIn("roles", c)
        return c


class SignInApprovedAtOnce(DeviceCodeCase):
    """`--device-approve global-admin`: one sign-in (in setUpClass, because every MSAL device
    flow costs at least one poll interval), then what an app does with the signed-in account."""

    SIM_ARGS = ("--device-approve", "global-admin")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.public_app()
        cls.flow = cls.initiate(cls.app)
        cls.result = cls.app.acquire_token_by_device_flow(cls.flow)

    def account(self):
        accounts = self.app.get_accounts()
        self.assertEqual(len(accounts), 1, accounts)
        return accounts[0]

    def refresh_tokens(self):
        rts = self.app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)
        return [rt["secret"] for rt in rts]

    def test_device_authorization_response(self):
        flow = self.flow
        self.assertEqual(len(flow["user_code"]), 9)
        self.assertTrue(flow["device_code"])
        self.assertEqual(flow["verification_uri"], f"{self.sim.base}/devicelogin")
        self.assertEqual(flow["expires_in"], 900)
        self.assertIn(flow["user_code"], flow["message"])
        self.assertIn(flow["verification_uri"], flow["message"])

    def test_device_flow_gives_a_delegated_graph_token_and_an_account(self):
        result = self.result
        c = self.assert_delegated_token(result, [GLOBAL_ADMINISTRATOR, MEMBER])
        self.assertEqual(c["appid"], GRAPH_CLI_TOOLS)
        self.assertEqual(result["token_source"], "identity_provider")
        # MSAL adds openid, profile and offline_access: an id token, client_info and a
        # refresh token come back, and MSAL builds its account from them.
        self.assertIn("refresh_token", result)
        self.assertIn("client_info", result)
        id_claims = result["id_token_claims"]
        self.assertEqual(id_claims["aud"], GRAPH_CLI_TOOLS)
        self.assertEqual(id_claims["oid"], c["oid"])
        self.assertEqual(id_claims["preferred_username"], c["upn"])
        account = self.account()
        self.assertEqual(account["username"], c["upn"])
        self.assertEqual(account["home_account_id"], f"{c['oid']}.{self.sim.tenant}")
        self.assertEqual(account["local_account_id"], c["oid"])
        self.assertEqual(account["realm"], self.sim.tenant)
        self.assertEqual(account["account_source"], "urn:ietf:params:oauth:grant-type:device_code")

    def test_silent_for_the_signed_in_scopes_is_served_from_the_cache(self):
        """Asked for `https://graph.microsoft.com/Application.ReadWrite.All` (and
        AppRoleAssignment.ReadWrite.All), the token response's `scope` must name them with the
        resource, as asked (once a simulator discrepancy). MSAL caches the
        access token under the response's `scope` (oauth2cli/oauth2.py `_obtain_token`:
        `scope = _resp["scope"].split()`; token_cache.py `__add`: `target = ...
        event.get("scope")`) and finds it again only if the requested scopes are a subset
        (token_cache.py `_is_matching`), so every acquire_token_silent for the same scopes
        misses the cache and redeems the refresh token. Entra answers a scope asked with its
        resource URI with the resource URI (`"scope": "https://graph.microsoft.com/user.read"`
        [ED v2-oauth2-on-behalf-of-flow.md, success response example])."""
        cached = self.app.acquire_token_silent(SCOPES, account=self.account())
        self.assertIsNotNone(cached)
        self.assertEqual(cached["token_source"], "cache")

    def test_silent_refresh_redeems_and_rotates_the_refresh_token(self):
        account = self.account()
        before = self.refresh_tokens()
        self.assertEqual(len(before), 1)
        old_access = claims(self.result["access_token"])
        refreshed = self.app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
        self.assertIsNotNone(refreshed, "MSAL found no usable refresh token")
        self.assertEqual(refreshed.get("token_source"), "identity_provider", refreshed)
        c = self.assert_delegated_token(refreshed, [GLOBAL_ADMINISTRATOR, MEMBER])
        self.assertNotEqual(c["uti"], old_access["uti"], "a new access token")
        self.assertEqual(c["oid"], old_access["oid"], "for the same person")
        after = self.refresh_tokens()
        self.assertEqual(len(after), 1)
        self.assertNotEqual(after, before, "the refresh token rotated")
        self.assertEqual(len(self.app.get_accounts()), 1)

        # Entra does not revoke a refresh token when it is used: the old one still works.
        reused = self.app.acquire_token_by_refresh_token(before[0], scopes=SCOPES)
        self.assertIn("access_token", reused, reused)
        # The new one still works (and rotates again).
        again = self.app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
        self.assertIsNotNone(again)
        self.assertIn("access_token", again, again)

    def test_refresh_token_redeemed_for_another_scope(self):
        """The refresh_token grant issues the scope the refresh request names (once a
        simulator discrepancy: it re-issued the original sign-in's scopes), so MSAL's silent
        request for another consented scope (User.Read) gets a token with it, as from Entra."""
        result = self.app.acquire_token_silent(
            ["https://graph.microsoft.com/User.Read"], account=self.account()
        )
        self.assertIsNotNone(result)
        self.assertIn("access_token", result, result)
        self.assertIn("User.Read", claims(result["access_token"])["scp"].split())

    def test_delegated_token_reads_applications_and_not_users(self):
        """Application.ReadWrite.All reads applications; it does not read users or the
        organization (those need User.Read.All / User.Read or Directory.Read.All)."""
        token = self.app.acquire_token_silent(SCOPES, account=self.account())["access_token"]

        def get(path):
            req = urllib.request.Request(
                f"{self.sim.base}/v1.0/{path}", headers={"Authorization": f"Bearer {token}"}
            )
            try:
                with urllib.request.urlopen(req, context=self.ssl) as resp:
                    return resp.status, json.load(resp)
            except urllib.error.HTTPError as e:
                return e.code, json.load(e)

        status, body = get("applications?$select=id,appId,displayName&$top=5")
        self.assertEqual(status, 200, body)
        self.assertTrue(body["value"])
        self.assertTrue(all(a["appId"] for a in body["value"]))
        for path in ("users?$top=1", "organization"):
            status, body = get(path)
            self.assertEqual(status, 403, (path, body))
            self.assertEqual(body["error"]["code"], "Authorization_RequestDenied")

    def test_azure_cli_client_signs_in_too(self):
        app = self.public_app(AZURE_CLI)
        result = app.acquire_token_by_device_flow(self.initiate(app))
        c = self.assert_delegated_token(result, [GLOBAL_ADMINISTRATOR, MEMBER])
        self.assertEqual(c["appid"], AZURE_CLI)
        self.assertEqual(len(app.get_accounts()), 1)

    def test_unknown_client_and_unknown_scope_are_refused(self):
        app = msal.PublicClientApplication(
            "11111111-2222-3333-4444-555555555555",
            authority=f"{self.sim.base}/{self.sim.tenant}",
            instance_discovery=False,
            verify=self.sim.ca,
        )
        flow = app.initiate_device_flow(scopes=SCOPES)
        self.assertEqual(flow.get("error"), "unauthorized_client", flow)
        self.assertEqual(flow.get("error_codes"), [700016])
        flow = self.public_app().initiate_device_flow(scopes=["https://graph.microsoft.com/No.Such.Scope"])
        self.assertEqual(flow.get("error"), "invalid_scope", flow)
        self.assertEqual(flow.get("error_codes"), [70011])

    def test_graph_sdk_creates_and_reads_an_application_with_the_delegated_token(self):
        """msgraph-sdk, its credential backed by MSAL's silent acquisition for the signed-in
        account (how an app hands MSAL's tokens to the SDK), creates an application, reads it
        back and deletes it."""
        try:
            from azure.core.credentials import AccessToken
            from msgraph.generated.models.application import Application
            from msgraph.generated.models.o_data_errors.o_data_error import ODataError
        except ImportError as e:  # the venv predates msgraph-sdk
            self.skipTest(f"msgraph-sdk is not installed: {e}")
        warnings.filterwarnings("ignore", "This class is deprecated", DeprecationWarning)
        app, account = self.app, self.account()

        class MsalCredential:
            """An azure-core TokenCredential over MSAL's token cache."""

            def get_token(self, *scopes, **_kwargs):
                result = app.acquire_token_silent(list(scopes), account=account)
                if not result or "access_token" not in result:
                    raise RuntimeError(f"no token for {scopes}: {result}")
                return AccessToken(result["access_token"], int(time.time()) + int(result["expires_in"]))

        def graph():
            return graph_service_client(MsalCredential(), SCOPES, self.sim.base, self.ssl)

        name = "fidelity device-code app"

        async def run():
            async with graph() as client:
                created = await client.applications.post(
                    Application(display_name=name, sign_in_audience="AzureADMyOrg")
                )
                read = await client.applications.by_application_id(created.id).get()
                await client.applications.by_application_id(created.id).delete()
                with self.assertRaises(ODataError) as gone:
                    await client.applications.by_application_id(created.id).get()
                return created, read, gone.exception

        with warnings.catch_warnings():
            # Kiota's own request configuration still builds the deprecated GetQueryParameters.
            warnings.filterwarnings("ignore", "GetQueryParameters is deprecated", DeprecationWarning)
            created, read, gone = asyncio.run(run())
        self.assertIs(type(created), Application)
        self.assertTrue(created.id)
        self.assertTrue(created.app_id)
        self.assertEqual(created.display_name, name)
        self.assertEqual(created.sign_in_audience, "AzureADMyOrg")
        self.assertEqual((read.id, read.app_id, read.display_name), (created.id, created.app_id, name))
        self.assertEqual(gone.response_status_code, 404)


class SignInAnsweredAtTheBrowser(DeviceCodeCase):
    """No `--device-approve`: sign-ins wait until the test, as the person at the browser,
    approves or declines them through the simulator's admin endpoints."""

    def test_pending_code_is_listed(self):
        flow = self.initiate(self.public_app())
        self.assertEqual(flow["interval"], 1)
        pending = self.pending_codes()
        self.assertIn(flow["user_code"], pending)
        entry = pending[flow["user_code"]]
        self.assertEqual(entry["clientId"], GRAPH_CLI_TOOLS)
        self.assertLessEqual(SCOPE_NAMES, set(entry["scopes"]))

    def test_code_approved_while_msal_polls(self):
        app = self.public_app()
        flow = self.initiate(app)
        outcome = {}
        poller = threading.Thread(
            target=lambda: outcome.setdefault("result", app.acquire_token_by_device_flow(flow)),
            daemon=True,
        )
        poller.start()
        # MSAL records each poll's time in the flow; approve once it has polled (and been
        # told to keep waiting).
        deadline = time.time() + 30
        while "latest_attempt_at" not in flow and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("latest_attempt_at", flow, "MSAL never polled")
        self.assertTrue(poller.is_alive(), outcome)
        self.assertIn(flow["user_code"], self.pending_codes())
        status, body = self.sim_call("device/approve", "POST", user_code=flow["user_code"], **{"as": "app-admin"})
        self.assertEqual(status, 200, body)
        self.assertNotIn(flow["user_code"], self.pending_codes())
        poller.join(timeout=60)
        self.assertFalse(poller.is_alive(), "MSAL kept polling after the approval")
        result = outcome["result"]
        self.assert_delegated_token(result, [APPLICATION_ADMINISTRATOR, MEMBER])
        self.assertEqual(app.get_accounts()[0]["username"], claims(result["access_token"])["upn"])
        # Answered once: the code cannot be answered again.
        status, _ = self.sim_call("device/decline", "POST", user_code=flow["user_code"])
        self.assertGreaterEqual(status, 400)

    def test_declined_at_the_browser(self):
        app = self.public_app()
        flow = self.initiate(app)
        status, body = self.sim_call("device/decline", "POST", user_code=flow["user_code"])
        self.assertEqual(status, 200, body)
        result = app.acquire_token_by_device_flow(flow)
        self.assertEqual(result.get("error"), "authorization_declined", result)
        self.assertEqual(result.get("error_codes"), [65004])
        self.assertEqual(app.get_accounts(), [])

    def test_unknown_device_code(self):
        app = self.public_app()
        flow = self.initiate(app)
        flow["device_code"] = flow["device_code"][::-1]
        result = app.acquire_token_by_device_flow(flow)
        self.assertEqual(result.get("error"), "bad_verification_code", result)
        self.assertEqual(result.get("error_codes"), [70018])

    def test_first_poll_is_told_authorization_pending(self):
        """MSAL polls once right after the device authorization response
        (oauth2cli/oauth2.py obtain_token_by_device_flow: poll, then sleep `interval`), as do
        Azure CLI and azure-identity, which use it: that first poll is `authorization_pending`,
        not `slow_down` (once a simulator discrepancy; Entra lists no slow_down among the
        device flow's errors [ED v2-oauth2-device-code.md "Expected errors"]).
        `exit_condition` makes MSAL poll exactly once."""
        app = self.public_app()
        flow = self.initiate(app)
        result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
        self.assertEqual(result.get("error"), "authorization_pending", result)
        self.assertEqual(flow["interval"], 1)


class SignInDeclinedAtOnce(DeviceCodeCase):
    SIM_ARGS = ("--device-approve", "decline")

    def test_declined_sign_in_is_authorization_declined(self):
        app = self.public_app()
        result = app.acquire_token_by_device_flow(self.initiate(app))
        self.assertEqual(result.get("error"), "authorization_declined", result)
        self.assertNotIn("access_token", result)
        self.assertEqual(app.get_accounts(), [])


class SignInExpires(DeviceCodeCase):
    SIM_ARGS = ("--device-code-lifetime-secs", "2")

    def test_unanswered_code_expires(self):
        app = self.public_app()
        flow = self.initiate(app)
        self.assertEqual(flow["expires_in"], 2)
        # MSAL's default exit condition stops polling at expires_at and returns the last
        # answer; polling on shows what the server says once the code has expired.
        result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: False)
        self.assertEqual(result.get("error"), "expired_token", result)
        self.assertEqual(result.get("error_codes"), [70019])
        self.assertGreaterEqual(time.time(), flow["expires_at"] - 1)


if __name__ == "__main__":
    unittest.main()
