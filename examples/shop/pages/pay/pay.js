// pages/pay/pay.js
import { createOrder, confirmOrder } from '../../utils/api'
import { sum } from '../../utils/money'
const cart = require('../../utils/cart')

Page({
  data: {
    items: [],
    totalCents: 0,
    paying: false
  },

  onLoad() {
    const items = cart.load()
    this.setData({ items, totalCents: sum(items) })
  },

  onPay() {
    if (this.data.paying || this.data.items.length === 0) return
    this.setData({ paying: true })
    createOrder(this.data.items)
      .then((order) => this.requestPayment(order))
      .catch((err) => this.showFailure('Could not create order', err && err.message))
  },

  requestPayment(order) {
    wx.requestPayment({
      timeStamp: order.timeStamp,
      nonceStr: order.nonceStr,
      package: 'prepay_id=' + order.prepayId,
      signType: 'RSA',
      paySign: order.paySign,
      success: () => {
        confirmOrder(order.id).then(() => {
          cart.clear()
          wx.redirectTo({ url: '/packageOrder/pages/orders/orders?highlight=' + order.id })
        })
      },
      fail: (err) => {
        const cancelled = /cancel/.test(err.errMsg || '')
        this.showFailure(
          cancelled ? 'Payment cancelled' : 'Payment failed',
          cancelled ? 'Your order is saved. You can pay for it later.' : err.errMsg
        )
      }
    })
  },

  showFailure(title, content) {
    this.setData({ paying: false })
    wx.showModal({
      title,
      content: content || 'Please try again.',
      showCancel: false
    })
  }
})
