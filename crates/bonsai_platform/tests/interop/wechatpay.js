// Drives the WeChat Pay v3 sandbox with npm `wechatpay-node-v3` (an SDK
// nobody here wrote), pointed at the sandbox through its injected HTTP
// transport (`createHttp`), the way its README lets merchants swap
// superagent. Everything the SDK signs, verifies and decrypts uses the SDK's
// own functions: request Authorization, the paySign it builds for
// wx.requestPayment, verifySign (which downloads /v3/certificates and
// decrypts them with the APIv3 key) and decipher_gcm.
//
// Usage: node wechatpay.js <config.json>, where the config has
// { baseUrl, adminToken, appid, user, openid, mchid, privateKeyPem,
//   certificatePem, apiv3Key }. Prints one JSON object of findings on stdout;
// the Rust test (tests/wechat_pay_interop.rs) asserts on it. Exits non-zero
// on an unexpected exception.
'use strict';

const fs = require('fs');
const http = require('http');
const Pay = require('wechatpay-node-v3');

const WECHAT_HOST = 'https://api.mch.weixin.qq.com';

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const findings = {};

  // What each call's raw answer was, for verifying response signatures
  // over the exact bytes.
  let last = null;
  const transport = {
    async request(method, url, params, headers) {
      const target = url.replace(WECHAT_HOST, config.baseUrl);
      const init = { method, headers: { ...headers } };
      delete init.headers['Accept-Encoding'];
      if (params !== undefined) init.body = JSON.stringify(params);
      const response = await fetch(target, init);
      const text = await response.text();
      let data;
      try {
        data = text ? JSON.parse(text) : {};
      } catch (e) {
        data = text;
      }
      last = { status: response.status, text, headers: Object.fromEntries(response.headers) };
      return { status: response.status, data, text, headers: last.headers };
    },
    get(url, headers) {
      return this.request('GET', url, undefined, headers);
    },
    post(url, params, headers) {
      return this.request('POST', url, params, headers);
    },
  };

  const pay = new Pay({
    appid: config.appid,
    mchid: config.mchid,
    publicKey: Buffer.from(config.certificatePem),
    privateKey: Buffer.from(config.privateKeyPem),
    key: config.apiv3Key,
  });
  pay.createHttp(transport);
  // The SDK reads the serial from apiclient_cert.pem itself.
  findings.sdkSerialNo = pay.serial_no;

  // Verifies the last response's Wechatpay-* headers with the SDK.
  async function verifyLast() {
    const h = last.headers;
    return pay.verifySign({
      timestamp: h['wechatpay-timestamp'],
      nonce: h['wechatpay-nonce'],
      body: last.text,
      serial: h['wechatpay-serial'],
      signature: h['wechatpay-signature'],
      apiSecret: config.apiv3Key,
    });
  }

  // The merchant's notify_url: a loopback server recording what arrives.
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const notifyUrl = `http://127.0.0.1:${server.address().port}/pay/notify`;

  async function waitForNotification(count) {
    for (let i = 0; i < 100 && received.length < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return received[count - 1];
  }

  async function openNotification(note) {
    const verified = await pay.verifySign({
      timestamp: note.headers['wechatpay-timestamp'],
      nonce: note.headers['wechatpay-nonce'],
      body: note.body,
      serial: note.headers['wechatpay-serial'],
      signature: note.headers['wechatpay-signature'],
      apiSecret: config.apiv3Key,
    });
    const envelope = JSON.parse(note.body);
    const r = envelope.resource;
    const resource = pay.decipher_gcm(r.ciphertext, r.associated_data, r.nonce, config.apiv3Key);
    return {
      verified,
      signatureType: note.headers['wechatpay-signature-type'],
      eventType: envelope.event_type,
      resourceType: envelope.resource_type,
      resource,
    };
  }

  // The platform certificates, decrypted by the SDK.
  const certificates = await pay.get_certificates(config.apiv3Key);
  findings.certificates = certificates.map((c) => ({
    serial_no: c.serial_no,
    hasPublicKey: typeof c.publicKey === 'string' && c.publicKey.includes('PUBLIC KEY'),
  }));
  findings.certificatesVerified = await verifyLast();

  // Order; the SDK answers with the wx.requestPayment parameters it signed.
  const outTradeNo = `interop_${Date.now()}`;
  const order = await pay.transactions_jsapi({
    description: 'Bonsai interop - Oolong',
    out_trade_no: outTradeNo,
    notify_url: notifyUrl,
    amount: { total: 100, currency: 'CNY' },
    payer: { openid: config.openid },
  });
  findings.jsapi = { status: order.status, data: order.data, verified: await verifyLast() };

  // The user pays in the mini program (the sandbox cashier, driven through
  // the admin API as the preview host does).
  const payResponse = await fetch(`${config.baseUrl}/admin/wechatpay/pay`, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      appid: config.appid,
      user: config.user,
      params: order.data,
      decision: 'confirm',
    }),
  });
  const paid = await payResponse.json();
  findings.payment = { status: payResponse.status, body: paid };

  const note = await waitForNotification(1);
  findings.transactionNotification = note ? await openNotification(note) : null;

  const byOutTradeNo = await pay.query({ out_trade_no: outTradeNo });
  findings.queryByOutTradeNo = {
    status: byOutTradeNo.status,
    data: byOutTradeNo.data,
    verified: await verifyLast(),
  };
  const byId = await pay.query({ transaction_id: paid.transaction_id });
  findings.queryByTransactionId = { status: byId.status, data: byId.data, verified: await verifyLast() };

  const refund = await pay.refunds({
    out_trade_no: outTradeNo,
    out_refund_no: `R${outTradeNo}`,
    reason: '七天无理由',
    notify_url: notifyUrl,
    amount: { refund: 30, total: 100, currency: 'CNY' },
  });
  findings.refund = { status: refund.status, data: refund.data, verified: await verifyLast() };
  const refundQuery = await pay.find_refunds(`R${outTradeNo}`);
  findings.refundQuery = { status: refundQuery.status, data: refundQuery.data, verified: await verifyLast() };
  const refundNote = await waitForNotification(2);
  findings.refundNotification = refundNote ? await openNotification(refundNote) : null;

  // A second order, closed: 204 with an empty, signed body.
  const second = `${outTradeNo}_2`;
  await pay.transactions_jsapi({
    description: 'Bonsai interop - closed',
    out_trade_no: second,
    notify_url: notifyUrl,
    amount: { total: 1 },
    payer: { openid: config.openid },
  });
  const closed = await pay.close(second);
  findings.close = { status: closed.status, body: last.text, verified: await verifyLast() };
  const afterClose = await pay.query({ out_trade_no: second });
  findings.closedState = afterClose.data.trade_state;

  // A request the SDK signed, tampered with on the way: SIGN_ERROR.
  const tamperedAuth = pay.buildAuthorization('GET', `${WECHAT_HOST}/v3/certificates`);
  const tampered = await transport.get(
    `${WECHAT_HOST}/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${config.mchid}`,
    pay.getHeaders(tamperedAuth),
  );
  findings.tampered = { status: tampered.status, code: tampered.data.code };

  server.close();
  process.stdout.write(JSON.stringify(findings));
}

main().catch((err) => {
  process.stderr.write(`interop script failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
