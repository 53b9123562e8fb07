// utils/api.js: ES module wrapping wx.request, with a mock fallback.
import * as mock from './mock'

const BASE_URL = 'https://shop.example.com/api'

function request(path, { method = 'GET', data } = {}) {
  const token = wx.getStorageSync('token')
  return new Promise((resolve, reject) => {
    wx.request({
      url: BASE_URL + path,
      method,
      data,
      timeout: 5000,
      header: token ? { Authorization: 'Bearer ' + token } : {},
      success(res) {
        if (res.statusCode >= 200 && res.statusCode < 300) {
          resolve(res.data)
        } else {
          reject(new Error('HTTP ' + res.statusCode))
        }
      },
      fail(err) {
        reject(err)
      }
    })
  })
}

// There is no real server behind shop.example.com, so every call falls back to mock data.
function withMock(promise, fallback) {
  return promise.catch((err) => {
    console.warn('[api] using mock data:', (err && (err.errMsg || err.message)) || err)
    return fallback()
  })
}

export function fetchProducts() {
  return withMock(request('/products'), () => mock.products.slice())
}

export function fetchProduct(id) {
  return withMock(request('/products/' + id), () => mock.findProduct(id))
}

export function fetchStock(id) {
  return withMock(request('/products/' + id + '/stock'), () => {
    const product = mock.findProduct(id)
    return { stock: product ? product.stock : 0 }
  })
}

export function loginWithCode(code) {
  return withMock(request('/login', { method: 'POST', data: { code } }), () => mock.login(code))
}

export function createOrder(items) {
  return withMock(request('/orders', { method: 'POST', data: { items } }), () => mock.createOrder(items))
}

export function confirmOrder(orderId) {
  return withMock(request('/orders/' + orderId + '/confirm', { method: 'POST' }), () => mock.markPaid(orderId))
}

export function fetchOrders() {
  return withMock(request('/orders'), () => mock.listOrders())
}
