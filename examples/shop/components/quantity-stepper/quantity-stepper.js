// components/quantity-stepper/quantity-stepper.js
function clamp(n, min, max) {
  return Math.min(Math.max(n, min), max)
}

Component({
  properties: {
    value: {
      type: Number,
      value: 1
    },
    min: {
      type: Number,
      value: 1
    },
    max: {
      type: Number,
      value: 99
    }
  },

  data: {
    current: 1,
    canDec: false,
    canInc: true
  },

  observers: {
    'value, min, max': function (value, min, max) {
      this.setData({ current: clamp(value, min, max) })
    },
    'current, min, max': function (current, min, max) {
      this.setData({ canDec: current > min, canInc: current < max })
    }
  },

  methods: {
    onDec() {
      this.step(-1)
    },

    onInc() {
      this.step(1)
    },

    step(delta) {
      const { current, min, max } = this.data
      const next = clamp(current + delta, min, max)
      if (next === current) return
      this.setData({ current: next })
      this.triggerEvent('change', { value: next })
    }
  }
})
