// components/price/price.js
Component({
  properties: {
    cents: {
      type: Number,
      value: 0
    },
    size: {
      type: String,
      value: 'normal'
    }
  }
})
