"""Fidelity check: azure-identity's ClientSecretCredential and CertificateCredential get Graph
tokens from the simulated tenant over TLS (instance discovery off, CA trusted).

Run with the MSAL test: target/fidelity-venv/bin/python -m unittest discover -s tests/fidelity -v
"""

import os
import unittest

from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential

from sim_process import GRAPH_SCOPE, Simulator, claims


class AzureIdentityAgainstSimulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def common(self):
        host = self.sim.base.split("://", 1)[1]
        return dict(authority=host, disable_instance_discovery=True, connection_verify=self.sim.ca)

    def test_client_secret_credential(self):
        app = self.sim.apps["full"]
        cred = ClientSecretCredential(self.sim.tenant, app["client_id"], app["secret"], **self.common())
        token = cred.get_token(GRAPH_SCOPE)
        c = claims(token.token)
        self.assertEqual(c["tid"], self.sim.tenant)
        self.assertIn("Member.Read.Hidden", c["roles"])
        self.assertGreater(token.expires_on, 0)

    def test_certificate_credential(self):
        app = self.sim.apps["cert"]
        cred = CertificateCredential(self.sim.tenant, app["client_id"], certificate_path=self.sim.cert_app, **self.common())
        self.assertEqual(claims(cred.get_token(GRAPH_SCOPE).token)["appidacr"], "2")

    def test_expired_secret_is_an_authentication_error(self):
        app = self.sim.apps["expired-secret"]
        cred = ClientSecretCredential(self.sim.tenant, app["client_id"], app["secret"], **self.common())
        with self.assertRaises(ClientAuthenticationError) as e:
            cred.get_token(GRAPH_SCOPE)
        self.assertIn("AADSTS7000222", str(e.exception))


if __name__ == "__main__":
    unittest.main()
