// The playable page: everything it does goes through the public API (same origin: the local stack,
// or CloudFront in front of the page's bucket and API Gateway) and the push stream. The wallet is
// the browser's (window.ethereum) when there is one, else the local stack's dev wallet (/_local/wallet).

const $ = (id) => document.getElementById(id);
const state = { token: null, address: null, game: null, wallet: null, socket: null };

// ABI selectors (keccak256 of the signature, first 4 bytes), for an injected wallet's transactions.
const SELECTOR = { approve: "0x095ea7b3", deposit: "0xb6b55f25" };

function showError(error) {
  $("error").textContent = error ? String(error.message || error) : "";
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const details = data && data.details ? ` (${JSON.stringify(data.details)})` : "";
    throw new Error(`${response.status} ${(data && data.error) || response.statusText}${details}`);
  }
  return data;
}

// ---------------------------------------------------------------- the wallet

const injected = () => (typeof window.ethereum !== "undefined" ? window.ethereum : null);

async function walletAddress() {
  if (injected()) return (await injected().request({ method: "eth_requestAccounts" }))[0];
  state.wallet = await (await fetch("/_local/wallet")).json();
  return state.wallet.address;
}

async function signMessage(message) {
  if (injected()) return injected().request({ method: "personal_sign", params: [message, state.address] });
  const response = await fetch("/_local/wallet/sign", { method: "POST", body: JSON.stringify({ message }) });
  return (await response.json()).signature;
}

const word = (hex) => hex.replace(/^0x/, "").padStart(64, "0");
const weiHex = (gbc) => {
  const [whole, frac = ""] = String(gbc).split(".");
  return (BigInt(whole || "0") * 10n ** 18n + BigInt((frac + "0".repeat(18)).slice(0, 18))).toString(16);
};

async function chainTransaction(kind, amount) {
  // A deposit starts with its intent: it names the vault and the token, and what the poller will credit.
  const intent = kind === "deposit" ? await api("POST", "/api/deposit", { amount, currency: "GBC" }) : null;
  if (!injected()) {
    const response = await fetch(`/_local/wallet/${kind}`, { method: "POST", body: JSON.stringify({ amount }) });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error);
    return data.txHash;
  }
  const send = (to, data) => injected().request({ method: "eth_sendTransaction", params: [{ from: state.address, to, data }] });
  if (kind === "faucet") throw new Error("with your own wallet, call claim() on the GBC faucet contract");
  await send(intent.tokenAddress, SELECTOR.approve + word(intent.vaultAddress) + word(weiHex(amount)));
  return send(intent.vaultAddress, SELECTOR.deposit + word(weiHex(amount)));
}

// ---------------------------------------------------------------- sign-in and the push stream

async function signIn() {
  showError();
  state.address = await walletAddress();
  const grant = await api("POST", "/api/auth/nonce", { address: state.address });
  const signature = await signMessage(grant.message);
  const session = await api("POST", "/api/auth/verify", { message: grant.message, signature });
  state.token = session.token;
  $("address").textContent = session.user.walletAddress;
  for (const id of ["deal", "faucet", "deposit"]) $(id).disabled = false;
  $("sign-in").disabled = true;
  await openStream();
  await Promise.all([refreshWallet(), refreshHistory(), resumeGame()]);
}

async function openStream() {
  const grant = await api("POST", "/api/realtime/ticket");
  const socket = new WebSocket(`${grant.url}?ticket=${encodeURIComponent(grant.ticket)}`);
  socket.onopen = () => { $("stream").textContent = "push stream: on"; $("stream").className = "on"; };
  socket.onclose = () => {
    $("stream").textContent = "push stream: off"; $("stream").className = "off";
    if (state.token) setTimeout(() => openStream().catch(showError), 2000); // a new ticket each time
  };
  socket.onmessage = (message) => onPush(JSON.parse(message.data));
  state.socket = socket;
}

function onPush(event) {
  const item = document.createElement("li");
  item.textContent = `${event.at.slice(11, 23)} ${event.type} ${JSON.stringify(event.data).slice(0, 120)}`;
  item.dataset.type = event.type;
  $("events").prepend(item);
  // A push says the balance moved; the queue does not keep order, and an answer of the API may be newer
  // than the push, so the page shows what the wallet says now (a cached read) rather than the push's figure.
  if (event.type === "balance.changed" && event.data.version > (state.balanceVersion || 0)) {
    state.balanceVersion = event.data.version;
    refreshWallet("push").catch(showError);
  }
  if (event.type === "game.ended") refreshHistory().catch(showError);
  if (["deposit.credited", "faucet.credited"].includes(event.type)) refreshWallet("push").catch(showError);
}

function setBalance(balance, source) {
  $("balance").textContent = balance;
  $("balance").dataset.source = source;
}

// ---------------------------------------------------------------- reads

async function refreshWallet(source = "api") {
  const wallet = await api("GET", "/api/wallet");
  setBalance(wallet.balance, source);
  if (state.wallet) {
    const chain = await (await fetch("/_local/wallet")).json();
    $("chain-wallet").textContent = chain.gbc === undefined ? `dev wallet ${chain.address} (no local chain)` : `dev wallet on chain: ${chain.gbc} GBC, ${Number(chain.eth).toFixed(3)} ETH`;
  }
}

async function refreshHistory() {
  const [history, stats] = await Promise.all([api("GET", "/api/history?limit=10"), api("GET", "/api/stats")]);
  $("history").replaceChildren(...history.games.map((g) => {
    const row = document.createElement("tr");
    for (const value of [g.endedAt.slice(11, 19), g.result, g.betAmount, g.winAmount, g.netProfit]) {
      const cell = document.createElement("td"); cell.textContent = value; row.append(cell);
    }
    return row;
  }));
  $("stats").replaceChildren(...Object.entries(stats).flatMap(([k, v]) => {
    const term = document.createElement("dt"); term.textContent = k;
    const value = document.createElement("dd"); value.textContent = v;
    return [term, value];
  }));
}

async function resumeGame() {
  try {
    render(await api("GET", "/api/game/active"));
  } catch (error) {
    if (!String(error.message).startsWith("404")) throw error;
  }
}

// ---------------------------------------------------------------- the game

function card(text) {
  const element = document.createElement("span");
  element.className = "card" + (text === "hidden" ? " hidden" : /[HD]$/.test(text) ? " red" : "");
  element.textContent = text === "hidden" ? "??" : text;
  return element;
}

function render(game) {
  state.game = game;
  $("dealer").replaceChildren("Dealer: ", ...game.dealer.cards.map(card), ` (${game.dealer.total})`);
  $("hands").replaceChildren(...game.hands.map((hand, i) => {
    const row = document.createElement("div");
    row.className = "hand" + (i === game.activeHand ? " active" : "");
    row.append(`Hand ${i + 1}: `, ...hand.cards.map(card), ` ${hand.total}${hand.soft ? " soft" : ""} · bet ${hand.bet} · ${hand.status}`);
    return row;
  }));
  $("actions").replaceChildren(...game.legalActions.map((action) => {
    const button = document.createElement("button");
    button.textContent = action; button.dataset.action = action;
    button.onclick = () => act(action).catch(showError);
    return button;
  }));
  $("result").textContent = game.result ? `${game.result}: won ${game.winAmount} GBC (net ${game.netProfit})` : "";
  $("fairness").replaceChildren();
  if (game.state === "ENDED") {
    const verify = document.createElement("button");
    verify.id = "verify"; verify.textContent = "Verify fairness";
    verify.onclick = () => verifyGame(game.id).catch(showError);
    $("fairness").append(verify);
  }
  $("deal").disabled = game.state !== "ENDED";
  if (game.balance !== undefined) setBalance(game.balance, "api");
}

async function deal(event) {
  event.preventDefault();
  showError();
  render(await api("POST", "/api/game", { betAmount: $("bet").value }));
}

async function act(action) {
  showError();
  const body = { gameId: state.game.id, action };
  if (action === "insurance") body.payload = {}; // half the bet, the most allowed
  render(await api("POST", "/api/game/action", body));
}

async function verifyGame(gameId) {
  const check = await api("GET", `/api/game/${gameId}/verify`);
  const line = document.createElement("span");
  line.id = "verified";
  line.dataset.valid = String(check.valid);
  line.textContent = ` ${check.valid ? "verified" : "NOT verified"}: server seed ${check.serverSeed.slice(0, 12)}… hashes to its commitment; the shoe and the moves replay to this game`;
  $("fairness").append(line);
}

// ---------------------------------------------------------------- the chain

async function faucet() {
  showError();
  $("chain-wallet").textContent = `faucet claim sent: ${await chainTransaction("faucet")}`;
}

async function deposit(event) {
  event.preventDefault();
  showError();
  $("chain-wallet").textContent = `deposit sent: ${await chainTransaction("deposit", $("deposit-amount").value)}`;
}

$("sign-in").onclick = () => signIn().catch(showError);
$("bet-form").onsubmit = (event) => deal(event).catch(showError);
$("faucet").onclick = () => faucet().catch(showError);
$("deposit-form").onsubmit = (event) => deposit(event).catch(showError);
