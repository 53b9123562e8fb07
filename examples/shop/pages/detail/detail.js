// pages/detail/detail.js: CommonJS requires
const { fetchProduct, fetchStock } = require('../../utils/api')
const cart = require('../../utils/cart')

Page({
  data: {
    product: null,
    qty: 1
  },

  onLoad(options) {
    this.productId = options.id
    fetchProduct(options.id).then((product) => {
      if (!product) {
        wx.showToast({ title: 'Not found', icon: 'error' })
        return
      }
      this.setData({ product })
      wx.setNavigationBarTitle({ title: product.title })
    })
  },

  onShow() {
    // Stock may have changed while we were away: patch just that field.
    if (!this.data.product) return
    fetchStock(this.productId).then(({ stock }) => {
      this.setData({ 'product.stock': stock })
    })
  },

  onQtyChange(e) {
    this.setData({ qty: e.detail.value })
  },

  onAddToCart() {
    cart.addItem(this.data.product, this.data.qty)
    wx.showToast({ title: 'Added', icon: 'success' })
  },

  goCart() {
    wx.switchTab({ url: '/pages/cart/cart' })
  },

  onShareAppMessage() {
    const { product } = this.data
    return {
      title: product ? product.title : 'Bonsai Shop',
      path: '/pages/detail/detail?id=' + this.productId
    }
  }
})
