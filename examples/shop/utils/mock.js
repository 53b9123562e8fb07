// utils/mock.js: ES module. Stand-in data for when https://shop.example.com is unreachable.
import { sum } from './money'

const ORDERS_KEY = 'mock_orders'

export const products = [
  { id: 'p001', title: 'Juniper Bonsai', cents: 12800, stock: 12, image: '', desc: 'A hardy classic, about 8 years old.' },
  { id: 'p002', title: 'Chinese Elm', cents: 8950, stock: 30, image: '', desc: 'Forgiving and fast-growing. Great first tree.' },
  { id: 'p003', title: 'Japanese Maple', cents: 25600, stock: 3, image: '', desc: 'Deep red leaves in autumn.' },
  { id: 'p004', title: 'Ficus Ginseng', cents: 6800, stock: 45, image: '', desc: 'Thick roots, happy indoors.' },
  { id: 'p005', title: 'Satsuki Azalea', cents: 19900, stock: 0, image: '', desc: 'Spring flowers. Back in stock soon.' },
  { id: 'p006', title: 'Ceramic Pot (15 cm)', cents: 3500, stock: 80, image: '', desc: 'Unglazed, with drainage holes.' },
  { id: 'p007', title: 'Concave Cutter', cents: 15800, stock: 9, image: '', desc: 'Carbon steel, for clean branch cuts.' },
  { id: 'p008', title: 'Akadama Soil (2 L)', cents: 2450, stock: 120, image: '', desc: 'Japanese clay granules.' }
]

export function findProduct(id) {
  return products.find((p) => p.id === id) || null
}

export function login(code) {
  return { token: 'mock-' + code + '-' + Date.now().toString(36) }
}

export function listOrders() {
  const orders = wx.getStorageSync(ORDERS_KEY)
  return Array.isArray(orders) ? orders : []
}

export function createOrder(items) {
  const now = Date.now()
  const order = {
    id: 'O' + now,
    items: items.map(({ id, title, cents, qty }) => ({ id, title, cents, qty })),
    totalCents: sum(items),
    status: 'pending',
    createdAt: now,
    // Payment parameters the server would sign with the merchant key.
    timeStamp: String(Math.floor(now / 1000)),
    nonceStr: Math.random().toString(36).slice(2, 18),
    prepayId: 'wx' + now + 'mock',
    paySign: 'MOCK_SIGNATURE'
  }
  wx.setStorageSync(ORDERS_KEY, [order].concat(listOrders()))
  return order
}

export function markPaid(orderId) {
  const orders = listOrders().map((o) => (o.id === orderId ? Object.assign({}, o, { status: 'paid' }) : o))
  wx.setStorageSync(ORDERS_KEY, orders)
  return orders.find((o) => o.id === orderId) || null
}
