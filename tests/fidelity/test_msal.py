"""Fidelity check: Microsoft's own MSAL for Python acquires app-only tokens from the simulated
tenant over TLS (instance discovery off, the simulator's CA trusted via the written file).

Run: target/fidelity-venv/bin/python -m unittest discover -s tests/fidelity -v
(scripts/install-test-deps.sh creates the venv; ENTRA_EXTRACT_BIN overrides the binary path,
default target/debug/entra-extract, which `cargo build` produces).
"""

import base64
import json
import os
import queue
import subprocess
import tempfile
import threading
import unittest
import urllib.request

import msal

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ENTRA_EXTRACT_BIN", os.path.join(ROOT, "target", "debug", "entra-extract"))
GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]


def claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


class MsalAgainstSimulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # requests lets these variables override a Session's `verify` (psf/requests#3829), which
        # would hide the simulator's CA from MSAL; machines here set them globally.
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            os.environ.pop(var, None)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ca = os.path.join(cls.tmp.name, "sim-ca.pem")
        cls.cert_app = os.path.join(cls.tmp.name, "cert-app.pem")
        cls.proc = subprocess.Popen(
            [BIN, "sim", "--tls", "--cert-out", cls.ca, "--cert-app-out", cls.cert_app],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = queue.Queue()

        def pump():
            for line in cls.proc.stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        cls.apps = {}
        while True:
            line = lines.get(timeout=60).strip()
            if line.startswith("base URL"):
                cls.base = line.split(": ", 1)[1].strip()
            elif line.startswith("tenant id:"):
                cls.tenant = line.split(":", 1)[1].strip()
            elif line.startswith("default domain:"):
                cls.domain = line.split(":", 1)[1].strip()
            elif " client id " in line:
                parts = line.split()
                cls.apps[parts[0]] = {"client_id": parts[3], "secret": parts[5] if parts[4] == "secret" else None}
            elif line.startswith("Serving until Ctrl-C"):
                break

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.tmp.cleanup()

    def app(self, slug, credential=None, tenant=None):
        return msal.ConfidentialClientApplication(
            self.apps[slug]["client_id"],
            client_credential=credential or self.apps[slug]["secret"],
            authority=f"{self.base}/{tenant or self.tenant}",
            instance_discovery=False,
            verify=self.ca,
        )

    def test_secret_credential_gets_a_graph_token_with_roles(self):
        result = self.app("full").acquire_token_for_client(scopes=GRAPH_SCOPE)
        self.assertIn("access_token", result, result)
        c = claims(result["access_token"])
        self.assertEqual(c["tid"], self.tenant)
        self.assertEqual(sorted(c["roles"]), ["Directory.Read.All", "Member.Read.Hidden"])
        # The token works against the simulated Graph over the same TLS trust.
        req = urllib.request.Request(
            f"{self.base}/v1.0/organization",
            headers={"Authorization": f"Bearer {result['access_token']}"},
        )
        import ssl

        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(req, context=ctx) as resp:
            org = json.load(resp)
        self.assertEqual(org["value"][0]["id"], self.tenant)

    def test_domain_as_tenant_and_no_grants_token_without_roles(self):
        result = self.app("no-grants", tenant=self.domain).acquire_token_for_client(scopes=GRAPH_SCOPE)
        self.assertIn("access_token", result, result)
        self.assertNotIn("roles", claims(result["access_token"]))

    def test_certificate_credential(self):
        with open(self.cert_app) as f:
            pem = f.read()
        cert = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
        key = pem[len(cert):].strip()
        result = self.app("cert", credential={"private_key": key, "public_certificate": cert}).acquire_token_for_client(
            scopes=GRAPH_SCOPE
        )
        self.assertIn("access_token", result, result)
        self.assertEqual(claims(result["access_token"])["appidacr"], "2")

    def test_errors_surface_as_documented(self):
        bad = self.app("full", credential="not-the-secret").acquire_token_for_client(scopes=GRAPH_SCOPE)
        self.assertEqual(bad.get("error"), "invalid_client", bad)
        self.assertEqual(bad.get("error_codes"), [7000215])
        expired = self.app("expired-secret").acquire_token_for_client(scopes=GRAPH_SCOPE)
        self.assertEqual(expired.get("error_codes"), [7000222], expired)


if __name__ == "__main__":
    unittest.main()
