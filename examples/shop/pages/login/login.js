// pages/login/login.js
const { loginWithCode } = require('../../utils/api')

Page({
  data: {
    loading: false
  },

  onLogin() {
    const that = this
    this.setData({ loading: true })
    wx.login({
      success(res) {
        if (!res.code) {
          that.fail(res.errMsg)
          return
        }
        loginWithCode(res.code)
          .then(({ token }) => {
            wx.setStorageSync('token', token)
            getApp().globalData.loggedIn = true
            that.setData({ loading: false })
            wx.showToast({ title: 'Signed in', icon: 'success' })
            wx.navigateBack({
              fail() {
                // Opened directly (no page to go back to): land on the Me tab.
                wx.switchTab({ url: '/pages/mine/mine' })
              }
            })
          })
          .catch((err) => that.fail(err && err.message))
      },
      fail(err) {
        that.fail(err.errMsg)
      }
    })
  },

  fail(reason) {
    console.warn('[login] failed:', reason)
    this.setData({ loading: false })
    wx.showToast({ title: 'Login failed', icon: 'error' })
  }
})
