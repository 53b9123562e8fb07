// pages/mine/mine.js
const { fetchOrders } = require('../../utils/api')

Page({
  data: {
    loggedIn: false,
    tokenTail: '',
    orderCount: 0
  },

  onShow() {
    const token = wx.getStorageSync('token')
    this.setData({
      loggedIn: !!token,
      tokenTail: token ? token.slice(-6) : ''
    })
    fetchOrders().then((orders) => this.setData({ orderCount: orders.length }))
  },

  onLogout() {
    wx.showModal({
      title: 'Sign out',
      content: 'Sign out of Bonsai Shop?',
      success: (res) => {
        if (!res.confirm) return
        wx.removeStorageSync('token')
        getApp().globalData.loggedIn = false
        this.setData({ loggedIn: false, tokenTail: '' })
      }
    })
  }
})
