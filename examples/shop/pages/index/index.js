// pages/index/index.js: ES module imports
import { fetchProducts } from '../../utils/api'
import { addItem, count } from '../../utils/cart'

Page({
  data: {
    products: [],
    loading: true
  },

  onLoad() {
    this.loadProducts()
  },

  onShow() {
    this.updateCartBadge()
  },

  onPullDownRefresh() {
    this.loadProducts().then(() => wx.stopPullDownRefresh())
  },

  loadProducts() {
    this.setData({ loading: true })
    return fetchProducts()
      .then((products) => {
        this.setData({ products, loading: false })
      })
      .catch(() => {
        this.setData({ loading: false })
        wx.showToast({ title: 'Load failed', icon: 'error' })
      })
  },

  onProductTap(e) {
    const { id } = e.currentTarget.dataset
    wx.navigateTo({ url: '/pages/detail/detail?id=' + id })
  },

  onAdd(e) {
    const product = this.data.products.find((p) => p.id === e.detail.id)
    if (!product) return
    addItem(product)
    wx.showToast({ title: 'Added', icon: 'success' })
    this.updateCartBadge()
  },

  updateCartBadge() {
    const n = count()
    if (n > 0) {
      wx.setTabBarBadge({ index: 1, text: String(n) })
    } else {
      wx.removeTabBarBadge({ index: 1 })
    }
  },

  onShareAppMessage() {
    return { title: 'Bonsai Shop', path: '/pages/index/index' }
  }
})
