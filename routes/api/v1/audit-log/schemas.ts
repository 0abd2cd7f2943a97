import { Type } from '@sinclair/typebox'
import { idPattern } from '../../../../src/ids.js'
import { Nullable, Timestamp } from '../../../../src/http/schema-kit.js'
import { pageOf } from '../../../../src/http/schemas.js'

export const AuditEntrySchema = Type.Object({
  id: Type.String({ pattern: idPattern('auditEntry') }),
  actor: Type.String({ description: 'Key id, or `cli` / `bootstrap`' }),
  actor_ip: Nullable(Type.String()),
  action: Type.String({ examples: ['key.created', 'key.updated', 'key.revoked', 'key.rotated'] }),
  target_type: Type.String(),
  target_id: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  created_at: Timestamp,
}, { $id: 'AuditEntry', description: 'One audit log entry' })

export const AuditEntryListSchema = pageOf(Type.Ref(AuditEntrySchema), 'AuditEntryList', 'audit log entries')

export const AUDIT_SCHEMAS = [AuditEntrySchema, AuditEntryListSchema]
