import { Type } from '@sinclair/typebox'
import { idPattern } from '../../../../src/ids.js'
import { CREDIT_TRANSACTION_TYPES } from '../../../../src/db/schema/index.js'
import { StringEnum, Timestamp } from '../../../../src/http/schema-kit.js'
import { pageOf } from '../../../../src/http/schemas.js'

export const CreditBalanceSchema = Type.Object({
  balance: Type.Integer({ description: 'In the smallest currency unit (cents)' }),
  currency: Type.String({ examples: ['usd'] }),
  updated_at: Timestamp,
}, { $id: 'CreditBalance', description: 'The account’s credit balance, in cents', examples: [{ balance: 1000, currency: 'usd', updated_at: '2026-12-01T16:00:00.000Z' }] })

export const CreditTransactionSchema = Type.Object({
  id: Type.String({ pattern: idPattern('creditTransaction') }),
  type: StringEnum(CREDIT_TRANSACTION_TYPES),
  amount: Type.Integer({ description: 'Signed, in cents' }),
  balance_after: Type.Integer({ description: 'In cents' }),
  currency: Type.String(),
  description: Type.String(),
  created_at: Timestamp,
}, { $id: 'CreditTransaction', description: 'One credit ledger entry' })

export const CreditTransactionListSchema = pageOf(Type.Ref(CreditTransactionSchema), 'CreditTransactionList', 'credit ledger entries')

export const CREDIT_SCHEMAS = [CreditBalanceSchema, CreditTransactionSchema, CreditTransactionListSchema]
