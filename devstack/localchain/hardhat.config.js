// The local chain for `make dev` and the tests: chain id 31337, a block per transaction (automine),
// the default hardhat development accounts (public keys, for local chains only).
/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      mining: { auto: true },
    },
  },
};
