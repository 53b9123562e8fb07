// utils/cart.js: CommonJS, storage-backed cart.
const KEY = 'cart'

function load() {
  const items = wx.getStorageSync(KEY)
  return Array.isArray(items) ? items : []
}

function save(items) {
  wx.setStorageSync(KEY, items)
  return items
}

function addItem(product, qty = 1) {
  const items = load()
  const found = items.find((item) => item.id === product.id)
  if (found) {
    found.qty += qty
  } else {
    items.push({ id: product.id, title: product.title, cents: product.cents, image: product.image, stock: product.stock, qty })
  }
  return save(items)
}

function setQty(id, qty) {
  return save(load().map((item) => (item.id === id ? Object.assign({}, item, { qty }) : item)))
}

function removeItem(id) {
  return save(load().filter((item) => item.id !== id))
}

function clear() {
  wx.removeStorageSync(KEY)
}

function count() {
  return load().reduce((n, item) => n + item.qty, 0)
}

module.exports = {
  load,
  addItem,
  setQty,
  removeItem,
  clear,
  count
}
