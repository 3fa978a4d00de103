// Run by tap once before the test files (.taprc `before`): migrated templates for every file to copy.
import { prepareTemplates } from './databases.js'

await prepareTemplates()
