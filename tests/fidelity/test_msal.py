"""Fidelity check: Microsoft's own MSAL for Python acquires app-only tokens from the simulated
tenant over TLS (instance discovery off, the simulator's CA trusted via the written file).

Run: target/fidelity-venv/bin/python -m unittest discover -s tests/fidelity -v
(scripts/install-test-deps.sh creates the venv; ENTRA_EXTRACT_BIN overrides the binary path,
default the debug build in Cargo's target directory, which `cargo build` produces).
"""

import json
import ssl
import unittest
import urllib.request

import msal

from sim_process import GRAPH_SCOPE, Simulator, claims


class MsalAgainstSimulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def app(self, slug, credential=None, tenant=None):
        return msal.ConfidentialClientApplication(
            self.sim.apps[slug]["client_id"],
            client_credential=credential or self.sim.apps[slug]["secret"],
            authority=f"{self.sim.base}/{tenant or self.sim.tenant}",
            instance_discovery=False,
            verify=self.sim.ca,
        )

    def test_secret_credential_gets_a_graph_token_with_roles(self):
        result = self.app("full").acquire_token_for_client(scopes=[GRAPH_SCOPE])
        self.assertIn("access_token", result, result)
        c = claims(result["access_token"])
        self.assertEqual(c["tid"], self.sim.tenant)
        self.assertEqual(sorted(c["roles"]), ["Directory.Read.All", "Member.Read.Hidden"])
        # The token works against the simulated Graph over the same TLS trust.
        req = urllib.request.Request(
            f"{self.sim.base}/v1.0/organization",
            headers={"Authorization": f"Bearer {result['access_token']}"},
        )
        ctx = ssl.create_default_context(cafile=self.sim.ca)
        with urllib.request.urlopen(req, context=ctx) as resp:
            org = json.load(resp)
        self.assertEqual(org["value"][0]["id"], self.sim.tenant)

    def test_domain_as_tenant_and_no_grants_token_without_roles(self):
        result = self.app("no-grants", tenant=self.sim.domain).acquire_token_for_client(scopes=[GRAPH_SCOPE])
        self.assertIn("access_token", result, result)
        self.assertNotIn("roles", claims(result["access_token"]))

    def test_certificate_credential(self):
        with open(self.sim.cert_app) as f:
            pem = f.read()
        cert = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
        key = pem[len(cert):].strip()
        result = self.app("cert", credential={"private_key": key, "public_certificate": cert}).acquire_token_for_client(
            scopes=[GRAPH_SCOPE]
        )
        self.assertIn("access_token", result, result)
        self.assertEqual(claims(result["access_token"])["appidacr"], "2")

    def test_errors_surface_as_documented(self):
        bad = self.app("full", credential="not-the-secret").acquire_token_for_client(scopes=[GRAPH_SCOPE])
        self.assertEqual(bad.get("error"), "invalid_client", bad)
        self.assertEqual(bad.get("error_codes"), [7000215])
        expired = self.app("expired-secret").acquire_token_for_client(scopes=[GRAPH_SCOPE])
        self.assertEqual(expired.get("error_codes"), [7000222], expired)


if __name__ == "__main__":
    unittest.main()
