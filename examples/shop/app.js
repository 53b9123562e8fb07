// app.js
App({
  globalData: {
    loggedIn: false
  },

  onLaunch(options) {
    const token = wx.getStorageSync('token')
    this.globalData.loggedIn = !!token
    console.log('[app] launched from scene', options.scene, 'loggedIn =', this.globalData.loggedIn)
  },

  onError(msg) {
    console.error('[app] error:', msg)
  }
})
