// pages/cart/cart.js: mixes an ES import (TypeScript module) with require
import { sum } from '../../utils/money'
const cartStore = require('../../utils/cart')

Page({
  data: {
    items: [],
    totalCents: 0
  },

  onShow() {
    const items = cartStore.load()
    this.setData({ items, totalCents: sum(items) })
  },

  onQtyChange(e) {
    const { index } = e.currentTarget.dataset
    const qty = e.detail.value
    cartStore.setQty(this.data.items[index].id, qty)
    this.setData({ ['items[' + index + '].qty']: qty })
    this.setData({ totalCents: sum(this.data.items) })
  },

  onRemove(e) {
    const { id, title } = e.currentTarget.dataset
    wx.showModal({
      title: 'Remove item',
      content: 'Remove "' + title + '" from your cart?',
      confirmText: 'Remove',
      success: (res) => {
        if (!res.confirm) return
        const items = cartStore.removeItem(id)
        this.setData({ items, totalCents: sum(items) })
      }
    })
  },

  onCheckout() {
    if (this.data.items.length === 0) return
    if (!wx.getStorageSync('token')) {
      wx.navigateTo({ url: '/pages/login/login' })
      return
    }
    wx.navigateTo({ url: '/pages/pay/pay' })
  }
})
