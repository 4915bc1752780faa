"""Starts `entra-extract sim --tls` for the fidelity tests and parses its banner.

ENTRA_EXTRACT_BIN overrides the binary; by default it is the debug build wherever Cargo
puts it (`cargo metadata`: `target/` or `$CARGO_TARGET_DIR`).
"""

import base64
import json
import os
import queue
import subprocess
import tempfile
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def binary(env=os.environ):
    """The entra-extract binary: ENTRA_EXTRACT_BIN, else the debug build in Cargo's target
    directory, as Cargo itself reports it (it honours CARGO_TARGET_DIR and .cargo/config)."""
    if env.get("ENTRA_EXTRACT_BIN"):
        return env["ENTRA_EXTRACT_BIN"]
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        ).stdout
        target = json.loads(out)["target_directory"]
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        target = os.path.join(ROOT, "target")
    return os.path.join(target, "debug", "entra-extract")


BIN = binary()
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def claims(token):
    """The (unverified) claims of a JWT."""
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


class Simulator:
    """A running TLS simulator: base URL, tenant, domain, demo apps, CA and cert-app files."""

    def __init__(self, *extra_args):
        """extra_args go to `entra-extract sim` as they are (e.g. "--fault", "429=1@at=2")."""
        # requests lets these variables override a Session's `verify` (psf/requests#3829),
        # which would hide the simulator's CA from MSAL; machines here set them globally.
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            os.environ.pop(var, None)
        self.tmp = tempfile.TemporaryDirectory()
        self.ca = os.path.join(self.tmp.name, "sim-ca.pem")
        self.cert_app = os.path.join(self.tmp.name, "cert-app.pem")
        self.proc = subprocess.Popen(
            [BIN, "sim", "--tls", "--cert-out", self.ca, "--cert-app-out", self.cert_app, *extra_args],
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        self.apps = {}
        while True:
            line = lines.get(timeout=60).strip()
            if line.startswith("base URL"):
                self.base = line.split(": ", 1)[1].strip()
            elif line.startswith("tenant id:"):
                self.tenant = line.split(":", 1)[1].strip()
            elif line.startswith("default domain:"):
                self.domain = line.split(":", 1)[1].strip()
            elif " client id " in line:
                parts = line.split()
                secret = parts[5] if parts[4] == "secret" else None
                self.apps[parts[0]] = {"client_id": parts[3], "secret": secret}
            elif line.startswith("Serving until Ctrl-C"):
                break

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.tmp.cleanup()


@__import__("contextlib").asynccontextmanager
async def graph_service_client(credential, scopes, base, ssl_context):
    """A msgraph-sdk GraphServiceClient on `base` + /v1.0, authenticated by `credential`. Our
    own transport: the SDK wraps it in an AsyncGraphTransport that has no aclose(), so closing
    the client alone would leave its pooled connections open."""
    import httpx
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    auth = AzureIdentityAuthenticationProvider(credential, scopes=scopes)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, http2=True)
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport, timeout=30)
    )
    adapter = GraphRequestAdapter(auth, http)
    adapter.base_url = base + "/v1.0"
    try:
        yield GraphServiceClient(request_adapter=adapter)
    finally:
        await http.aclose()
        await transport.aclose()
