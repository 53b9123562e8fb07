// packageOrder/pages/orders/orders.js: subpackage page, requires from the main package
const { fetchOrders } = require('../../../utils/api')

Page({
  data: {
    orders: [],
    highlight: '',
    loaded: false
  },

  onLoad(options) {
    this.setData({ highlight: options.highlight || '' })
    if (options.highlight) {
      wx.showToast({ title: 'Payment done', icon: 'success' })
    }
  },

  onShow() {
    this.loadOrders()
  },

  onPullDownRefresh() {
    this.loadOrders().then(() => wx.stopPullDownRefresh())
  },

  loadOrders() {
    return fetchOrders().then((orders) => {
      this.setData({ orders, loaded: true })
    })
  },

  onOrderTap(e) {
    const { id, status } = e.currentTarget.dataset
    wx.showModal({
      title: 'Order ' + id,
      content: status === 'paid' ? 'Paid. We will ship it soon.' : 'Waiting for payment.',
      showCancel: false
    })
  }
})
