"""Where the fidelity tests find the binary: where Cargo puts it, CARGO_TARGET_DIR included
(`.ci/run` failed on a machine that sets it: the tests started target/debug/entra-extract)."""

import os
import tempfile
import unittest

import sim_process


class BinaryLocation(unittest.TestCase):
    def test_cargo_target_dir_is_honoured(self):
        with tempfile.TemporaryDirectory() as target:
            env = dict(os.environ, CARGO_TARGET_DIR=target)
            env.pop("ENTRA_EXTRACT_BIN", None)
            self.assertEqual(
                sim_process.binary(env), os.path.join(target, "debug", "entra-extract")
            )

    def test_an_explicit_binary_wins(self):
        env = dict(os.environ, ENTRA_EXTRACT_BIN="/opt/entra-extract", CARGO_TARGET_DIR="/x")
        self.assertEqual(sim_process.binary(env), "/opt/entra-extract")

    def test_without_overrides_it_is_the_debug_build_of_this_checkout(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("ENTRA_EXTRACT_BIN", "CARGO_TARGET_DIR")}
        self.assertEqual(
            sim_process.binary(env),
            os.path.join(sim_process.ROOT, "target", "debug", "entra-extract"),
        )


if __name__ == "__main__":
    unittest.main()
