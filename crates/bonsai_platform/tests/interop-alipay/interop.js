// Drives Bonsai's Alipay sandbox with the official Node SDK (alipay-sdk,
// pinned in package.json), as a merchant's server would: create and query
// a trade with response signatures verified, have the buyer pay through
// the admin API, receive the notification on a local HTTP server and check
// it with the SDK's own functions, then refund. Prints one JSON object on
// stdout for ../alipay.rs to assert on; fails with a stack on stderr.
//
// Usage: node interop.js <config.json>, the config holding gateway, appId,
// privateKey, alipayPublicKey, buyerId, user, adminUrl, adminToken, outTradeNo.

'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { AlipaySdk } = require('alipay-sdk');

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const sdk = new AlipaySdk({
    appId: config.appId,
    privateKey: config.privateKey,
    alipayPublicKey: config.alipayPublicKey,
    gateway: config.gateway,
    keyType: 'PKCS8',
    timeout: 10000,
  });

  // The merchant's notify_url: answers `success` to the first notification.
  let received;
  const notified = new Promise((resolve) => { received = resolve; });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      received({
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.end('success');
    });
  });
  const port = await listen(server);
  const notifyUrl = `http://127.0.0.1:${port}/alipay/notify`;

  const created = await sdk.exec('alipay.trade.create', {
    notifyUrl,
    bizContent: {
      outTradeNo: config.outTradeNo,
      totalAmount: '88.88',
      subject: 'Bonsai 盆景 · 小品 100%',
      productCode: 'JSAPI_PAY',
      buyerId: config.buyerId,
    },
  }, { validateSign: true });
  const queried = await sdk.exec('alipay.trade.query', {
    bizContent: { tradeNo: created.tradeNo },
  }, { validateSign: true });
  // Business errors are signed too.
  const missing = await sdk.exec('alipay.trade.query', {
    bizContent: { outTradeNo: 'NO_SUCH_TRADE' },
  }, { validateSign: true });

  // An SDK holding another "Alipay" public key must refuse our answers:
  // proof that it really verified them above.
  const { publicKey: strangerKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const suspicious = new AlipaySdk({
    appId: config.appId,
    privateKey: config.privateKey,
    alipayPublicKey: strangerKey,
    gateway: config.gateway,
    keyType: 'PKCS8',
  });
  let wrongKeyError = null;
  try {
    await suspicious.exec('alipay.trade.query', {
      bizContent: { tradeNo: created.tradeNo },
    }, { validateSign: true });
  } catch (err) {
    wrongKeyError = err.message;
  }

  // The buyer pays in the cashier (the admin API acts as their client).
  const pay = await fetch(`${config.adminUrl}/admin/alipay/pay`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${config.adminToken}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      app_id: config.appId,
      user: config.user,
      trade_no: created.tradeNo,
      decision: 'pay',
    }),
  }).then((res) => res.json());

  const notification = await within(notified, 20000, 'notification');
  server.close();
  const postData = Object.fromEntries(new URLSearchParams(notification.body));
  const notify = {
    contentType: notification.contentType,
    params: postData,
    checkNotifySignV2: sdk.checkNotifySignV2(postData),
    // The legacy check decodes values a second time, so a `%` in the
    // subject makes it throw (alipay-sdk-nodejs-all issue #45): V2 is the
    // one to use; the legacy one is reported for the record.
    checkNotifySign: (() => {
      try {
        return sdk.checkNotifySign({ ...postData });
      } catch (err) {
        return `threw ${err.name}`;
      }
    })(),
    tamperedAccepted: sdk.checkNotifySignV2({ ...postData, total_amount: '0.01' }),
  };

  const paid = await sdk.exec('alipay.trade.query', {
    bizContent: { outTradeNo: config.outTradeNo },
  }, { validateSign: true });
  const refund = await sdk.exec('alipay.trade.refund', {
    bizContent: { tradeNo: created.tradeNo, refundAmount: '8.88', outRequestNo: 'R1' },
  }, { validateSign: true });

  process.stdout.write(JSON.stringify({
    created, queried, missing, wrongKeyError, pay, notify, paid, refund,
  }));
}

main().catch((err) => {
  console.error((err && err.stack) || err);
  process.exit(1);
});
