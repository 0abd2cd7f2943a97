import { AccountService } from '../../../src/accounts/service.js'
import { defineGroup } from './group.js'

/** Accounts have no public route: operators create and change them through the CLI. */
export default defineGroup({
  name: 'accounts',
  service: (context) => new AccountService(context),
})
