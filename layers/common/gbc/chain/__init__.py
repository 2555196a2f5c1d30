"""The chain side: checkpoint, log reading and decoding (eth-abi, not all of web3)."""
