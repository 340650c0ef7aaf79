"""Generates Tests/Fixtures/sr25519-extra-vectors.json with the real bittensor-wallet (PyPI).

    .venv/bin/python scripts/generate_sr25519_vectors.py

Not part of the build or the tests: the JSON it writes is committed and read by KeysTests.
Covers what the reference vectors do not: fresh mnemonics of every length, empty and non-ASCII
messages, and axon-style messages signed by keys derived from URIs (checked by signature only:
URI derivation is not needed by a miner).
"""
import json
from pathlib import Path

from bittensor_wallet import Keypair

OUT = Path(__file__).resolve().parents[1] / "Tests" / "Fixtures" / "sr25519-extra-vectors.json"


def entry(keypair, message, source):
    signature = keypair.sign(message)
    assert keypair.verify(message, signature)
    return {
        **source,
        "public_key_hex": "0x" + keypair.public_key.hex(),
        "ss58_address": keypair.ss58_address,
        "message_utf8_hex": "0x" + message.encode().hex(),
        "signature_hex": "0x" + signature.hex(),
    }


def main():
    cases = []
    messages = ["", "ü日本語😀 the final answer is: 4", "1795571237306795363.5Eta.5EHg.uuid." + "ab" * 32]
    for words in (12, 15, 18, 21, 24):
        mnemonic = Keypair.generate_mnemonic(words)
        keypair = Keypair.create_from_mnemonic(mnemonic)
        for message in messages:
            cases.append(entry(keypair, message, {"mnemonic": mnemonic}))
    for uri in ("//Alice", "//Dave", "//Miner0"):
        keypair = Keypair.create_from_uri(uri)
        cases.append(entry(keypair, messages[2], {"uri": uri}))
    OUT.write_text(json.dumps({"generated_by": "scripts/generate_sr25519_vectors.py with bittensor-wallet",
                               "cases": cases}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
